"""Services queue tasks by name (knowledge/services/queue.py); a renamed task must fail here, not in
production, where the message would wait for a task no worker knows."""

from __future__ import annotations

from celery import current_app

from knowledge.services import queue


def test_every_task_name_the_services_queue_is_registered() -> None:
    registered = set(current_app.tasks)
    assert {queue.INGEST_DOCUMENTS, queue.SYNC_SOURCE} <= registered


def test_the_current_app_is_enclaves() -> None:
    # Queued by name through current_app: it must be the app configured from Django's settings.
    assert current_app.main == "enclave"
