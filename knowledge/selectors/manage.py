"""Reads for browsing and managing knowledge over the API: documents filtered, and for knowledge admins
sources with their sync progress, grants, and ingestion totals. Admin reads give others nothing
(an empty list, or "not found"), like the rest of the selectors."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404

from knowledge.models import Document, Grant, Source
from knowledge.permissions import AnyUser, visibility
from knowledge.querysets import DocumentQuerySet
from knowledge.selectors.documents import document_list
from knowledge.selectors.sync import source_list_with_sync_progress, sync_progress_of


@dataclass(frozen=True)
class DocumentFilters:
    source_id: int | None = None
    status: str | None = None
    format: str | None = None
    title_contains: str | None = None


def document_list_filtered(*, fetched_by: AnyUser, filters: DocumentFilters) -> DocumentQuerySet:
    """The documents the user may see that match every filter given."""
    documents = document_list(fetched_by=fetched_by)
    if filters.source_id is not None:
        documents = documents.filter(source_id=filters.source_id)
    if filters.status:
        documents = documents.filter(status=filters.status)
    if filters.format:
        documents = documents.filter(metadata__format=filters.format)
    if filters.title_contains:
        documents = documents.filter(title__icontains=filters.title_contains)
    return documents


def access_source_by_id(*, fetched_by: AnyUser, source_id: int) -> Source:
    """A source to manage, with its latest sync's progress; "not found" for anyone but admins."""
    try:
        return source_list_with_sync_progress(fetched_by=fetched_by).get(pk=source_id)
    except (Source.DoesNotExist, ValueError, TypeError):
        raise Http404("No such source.") from None


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


@dataclass(frozen=True)
class GrantFilters:
    source_id: int | None = None
    document_id: int | None = None
    username: str | None = None
    group_name: str | None = None


def grant_list(*, fetched_by: AnyUser, filters: GrantFilters | None = None) -> QuerySet[Grant]:
    """Every grant (admins only; others get none), with who, what and by whom in the same query."""
    grants = visibility.admin_only(Grant.objects.all(), fetched_by)
    grants = grants.select_related("user", "group", "source", "document", "granted_by")
    filters = filters or GrantFilters()
    if filters.source_id is not None:
        grants = grants.filter(source_id=filters.source_id)
    if filters.document_id is not None:
        grants = grants.filter(document_id=filters.document_id)
    if filters.username:
        grants = grants.filter(user__username=filters.username)
    if filters.group_name:
        grants = grants.filter(group__name=filters.group_name)
    return grants.order_by("-created_at", "-id")


def access_grant_by_id(*, fetched_by: AnyUser, grant_id: int) -> Grant:
    try:
        return grant_list(fetched_by=fetched_by).get(pk=grant_id)
    except (Grant.DoesNotExist, ValueError, TypeError):
        raise Http404("No such grant.") from None
