"""Reads for managing knowledge over the API, for knowledge admins: sources with their sync progress,
grants, and ingestion totals. Admin reads give others nothing (an empty list, or "not found"), like
the rest of the selectors; the API's filters (knowledge/api/filters.py) only narrow what they return."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from core.shortcuts import get_visible_or_404
from knowledge.models import Document, Grant, Source
from knowledge.permissions import AnyUser, visibility
from knowledge.selectors.documents import document_list
from knowledge.selectors.sync import source_list_with_sync_progress, sync_progress_of


def access_source_by_id(*, fetched_by: AnyUser, source_id: int) -> Source:
    """A source to manage, with its latest sync's progress; "not found" for anyone but admins."""
    return get_visible_or_404(source_list_with_sync_progress(fetched_by=fetched_by), "No such source.", pk=source_id)


def document_status_counts(*, fetched_by: AnyUser, source: Source | None = None) -> dict[str, int]:
    """How many of the documents the user may see are waiting, processing, ready and failed."""
    documents = document_list(fetched_by=fetched_by)
    if source is not None:
        documents = documents.filter(source=source)
    counted = dict(documents.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counted.get(status, 0) for status in Document.Status.values}


@dataclass(frozen=True)
class IngestionStatus:
    documents: dict[str, int]
    sources_syncing: int
    recent_failures: list[Document]


RECENT_FAILURES_SHOWN = 20


def ingestion_status(*, fetched_by: AnyUser) -> IngestionStatus:
    """Ingestion across every source (admins only; others get "not found")."""
    visibility.require_admin(fetched_by)
    failed = document_list(fetched_by=fetched_by).filter(status=Document.Status.FAILED).order_by("-updated_at")
    sources = source_list_with_sync_progress(fetched_by=fetched_by)
    progress = [sync_progress_of(source) for source in sources if not source.paused]
    return IngestionStatus(
        documents=document_status_counts(fetched_by=fetched_by),
        sources_syncing=sum(1 for p in progress if p is not None and not p.finished),
        recent_failures=list(failed[:RECENT_FAILURES_SHOWN]),
    )


def grant_list(*, fetched_by: AnyUser) -> QuerySet[Grant]:
    """Every grant (admins only; others get none), with who, what and by whom in the same query."""
    grants = visibility.admin_only(Grant.objects.all(), fetched_by)
    grants = grants.select_related("user", "group", "source", "document", "granted_by")
    return grants.order_by("-created_at", "-id")


def access_grant_by_id(*, fetched_by: AnyUser, grant_id: int) -> Grant:
    return get_visible_or_404(grant_list(fetched_by=fetched_by), "No such grant.", pk=grant_id)


def document_console_list(*, fetched_by: AnyUser) -> QuerySet[Document]:
    """Every document with its chunk count, for the console's list (admins only; others get none)."""
    return visibility.admin_only(Document.objects.annotate(chunk_count=Count("chunks")), fetched_by)


def source_console_list(*, fetched_by: AnyUser) -> QuerySet[Source]:
    """Every source, for admins managing them (others get none)."""
    return visibility.admin_only(Source.objects.all(), fetched_by)
