"""Celery tasks: ids in, one service call, a retry policy. Services are imported inside the task
so that importing this module (to enqueue) loads no parsing or embedding libraries."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

# Only failures that a later attempt can fix are retried: the database restarting or briefly
# unreachable. Bad documents are not exceptions here; the service records them on the document.
TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def ingest_documents(document_ids: list[int], sync_run_id: int | None = None, force: bool = False) -> list[str]:
    from core.metrics import INGEST_BATCH_SECONDS
    from knowledge.services.ingest import documents_ingest

    with INGEST_BATCH_SECONDS.time():
        results = documents_ingest(document_ids=document_ids, sync_run_id=sync_run_id, force=force)
    return [result.outcome.value for result in results]


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=5, retry_jitter=True, max_retries=8)
def sync_source(source_id: int, trigger: str = "manual") -> int:
    from knowledge.models import SyncRun
    from knowledge.services.sources import source_sync

    return source_sync(source_id=source_id, trigger=SyncRun.Trigger(trigger)).pk


@shared_task
def sync_due_sources() -> list[int]:
    from knowledge.services.sources import sources_due_sync

    due = sources_due_sync()
    for source_id in due:
        sync_source.delay(source_id, "schedule")
    return due
