"""Counts for the admin console: what a deletion takes with it, and how much knowledge there is.
Knowledge admins only; they see every row, so the counts are of everything."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from core.rls import acting_as_system
from knowledge.models import Chunk, Document, Grant, Source
from knowledge.permissions import AnyUser, visibility


def source_deletion_counts(*, fetched_by: AnyUser, source_ids: list[int]) -> dict[str, int]:
    visibility.require_admin(fetched_by)
    grants = Grant.objects.filter(source__in=source_ids).count()
    return {
        "documents": Document.objects.filter(source__in=source_ids).count(),
        "chunks": Chunk.objects.filter(document__source__in=source_ids).count(),
        "grants": grants + Grant.objects.filter(document__source__in=source_ids).count(),
    }


def document_deletion_counts(*, fetched_by: AnyUser, document_ids: list[int]) -> dict[str, int]:
    visibility.require_admin(fetched_by)
    return {
        "chunks": Chunk.objects.filter(document__in=document_ids).count(),
        "grants": Grant.objects.filter(document__in=document_ids).count(),
    }


@dataclass(frozen=True)
class KnowledgeCounts:
    sources: int
    paused_sources: int
    documents_by_status: dict[str, int]
    chunks: int


def knowledge_counts(*, fetched_by: AnyUser) -> KnowledgeCounts:
    visibility.require_admin(fetched_by)
    by_status = documents_by_status()
    return KnowledgeCounts(
        sources=Source.objects.count(),
        paused_sources=Source.objects.filter(paused=True).count(),
        documents_by_status={label: by_status[value] for value, label in Document.Status.choices},
        chunks=Chunk.objects.count(),
    )


def documents_by_status() -> dict[str, int]:
    """Every document counted by status, for the metrics scrape (no user: it reveals no content)."""
    with acting_as_system():
        counted = dict(Document.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counted.get(status, 0) for status in Document.Status.values}
