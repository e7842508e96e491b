"""Queueing the knowledge tasks from services, by the tasks' registered names.

knowledge/tasks.py is the layer above the services (a task is "ids in, one service call"), so the
services never import it: they name the task instead, looked up in the app's registry. The names are
checked against the registered tasks by tests/knowledge/test_queue.py.
"""

from __future__ import annotations

from typing import Any

from celery import current_app

INGEST_DOCUMENTS = "knowledge.tasks.ingest_documents"
SYNC_SOURCE = "knowledge.tasks.sync_source"


def task_enqueue(name: str, *args: Any) -> None:
    """Queue the task now (callers wrap this in transaction.on_commit where the rows must exist first)."""
    # The registered task itself (knowledge/apps.py registers them in every process), so its own
    # options (acks_late, retries, routing) apply as if the caller had imported it.
    current_app.tasks[name].delay(*args)
