"""Reads of ingestion progress (knowledge admins only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from knowledge.models import Chunk, Document, Source, SyncRun
from knowledge.permissions import AnyUser, visibility
from knowledge.selectors.documents import document_list

UNFINISHED = [Document.Status.PENDING, Document.Status.PROCESSING]


@dataclass(frozen=True)
class SyncProgress:
    total: int
    done: int
    failed: int
    chunks: int
    finished: bool
    error: str

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)


def _count_of(queryset: QuerySet, column: str) -> Subquery:
    """A correlated COUNT(*) usable in an annotation (the ORM's Count would GROUP BY the outer query)."""
    counted = queryset.order_by().values(column).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted), 0)  # type: ignore[return-value]


def source_list_with_sync_progress(*, fetched_by: AnyUser) -> QuerySet[Source]:
    """Sources annotated with their latest sync's progress (admin only: others get none).

    Everything is computed in the one query, so a list of many sources costs one round trip.
    """
    sources = visibility.admin_only(Source.objects.all(), fetched_by)
    latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at", "-id")
    reached = Document.objects.filter(sync_run_id=OuterRef("run_id"))
    return sources.annotate(
        document_count=_count_of(Document.objects.filter(source=OuterRef("pk")), "source_id"),
        run_id=Subquery(latest.values("id")[:1]),
        run_total=Subquery(latest.values("documents_total")[:1]),
        run_started_at=Subquery(latest.values("started_at")[:1]),
        run_finished_at=Subquery(latest.values("finished_at")[:1]),
        run_error=Subquery(latest.values("error")[:1]),
        run_done=_count_of(reached.exclude(status__in=UNFINISHED), "sync_run_id"),
        run_failed=_count_of(reached.filter(status=Document.Status.FAILED), "sync_run_id"),
        run_chunks=_count_of(Chunk.objects.filter(document__sync_run_id=OuterRef("run_id")), "document__sync_run_id"),
    )


def sync_queued(source: Source) -> bool:
    """A sync was asked for and no worker has started it yet (from ``source_list_with_sync_progress``)."""
    started = getattr(source, "run_started_at", None)
    return source.sync_queued_at is not None and (started is None or started < source.sync_queued_at)


def sync_progress_of(source: Source) -> SyncProgress | None:
    """The progress carried by a source from ``source_list_with_sync_progress``; None if never synced."""
    if getattr(source, "run_id", None) is None:
        return None
    total = source.run_total  # type: ignore[attr-defined]
    return SyncProgress(
        total=total,
        done=min(source.run_done, total),  # type: ignore[attr-defined]
        failed=source.run_failed,  # type: ignore[attr-defined]
        chunks=source.run_chunks,  # type: ignore[attr-defined]
        finished=source.run_finished_at is not None,  # type: ignore[attr-defined]
        error=source.run_error,  # type: ignore[attr-defined]
    )


def sync_run_progress(*, fetched_by: AnyUser, run: SyncRun) -> SyncProgress:
    """Counted from the documents the run has reached, so a task that runs twice counts once."""
    reached = document_list(fetched_by=fetched_by).filter(sync_run=run)
    counts = reached.aggregate(
        done=Count("id", filter=~Q(status__in=UNFINISHED)),
        failed=Count("id", filter=Q(status=Document.Status.FAILED)),
    )
    chunks = Chunk.objects.visible_to(fetched_by).filter(document__sync_run=run).count()
    return SyncProgress(
        total=run.documents_total,
        done=min(counts["done"], run.documents_total),
        failed=counts["failed"],
        chunks=chunks,
        finished=run.finished_at is not None,
        error=run.error,
    )
