"""Reads of sources, documents and chunks. Each takes the requesting user and applies the rule."""

from __future__ import annotations

from django.http import Http404

from knowledge.models import Chunk, Document, Source
from knowledge.permissions import AnyUser, sees_everything, visible_filter
from knowledge.querysets import DocumentQuerySet
from knowledge.rls import acting_as


def document_list(*, fetched_by: AnyUser, source: Source | None = None) -> DocumentQuerySet:
    documents = Document.objects.visible_to(fetched_by).select_related("source")
    if source is not None:
        documents = documents.filter(source=source)
    return documents


def access_document_by_id(*, fetched_by: AnyUser, document_id: int) -> Document:
    """The document, or Http404 for one that is missing *or* hidden: outsiders cannot tell them apart."""
    try:
        return document_list(fetched_by=fetched_by).get(pk=document_id)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise Http404("No such document.") from None


def chunk_list(*, fetched_by: AnyUser, document_id: int) -> list[Chunk]:
    document = access_document_by_id(fetched_by=fetched_by, document_id=document_id)
    return list(Chunk.objects.visible_to(fetched_by).filter(document=document))


def chunks_by_id(*, fetched_by: AnyUser, chunk_ids: list[int]) -> dict[int, Chunk]:
    """The chunks among ``chunk_ids`` that the user may see now, with document and source; the
    rest are simply absent (for citations, which must vanish when their document is revoked)."""
    with acting_as(fetched_by):
        chunks = Chunk.objects.visible_to(fetched_by).select_related("document__source").filter(pk__in=chunk_ids)
        return {chunk.pk: chunk for chunk in chunks}


def source_list(*, fetched_by: AnyUser) -> list[Source]:
    """Sources shown to a user: all of them for admins, otherwise those with a visible document."""
    if sees_everything(fetched_by):
        return list(Source.objects.all())
    visible_sources = Document.objects.filter(visible_filter(fetched_by)).values("source_id")
    return list(Source.objects.filter(pk__in=visible_sources))
