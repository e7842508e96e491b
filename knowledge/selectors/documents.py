"""Reads of sources, documents and chunks. Each takes the requesting user and applies the rule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.rls import acting_as
from core.shortcuts import get_visible_or_404
from knowledge.models import Chunk, Document, Source
from knowledge.permissions import AnyUser, visibility
from knowledge.querysets import DocumentQuerySet
from knowledge.services.reading import source_file_path


def document_list(*, fetched_by: AnyUser, source: Source | None = None) -> DocumentQuerySet:
    documents = Document.objects.visible_to(fetched_by).select_related("source")
    if source is not None:
        documents = documents.filter(source=source)
    return documents


def access_document_by_id(*, fetched_by: AnyUser, document_id: int) -> Document:
    """The document, or NotFound for one that is missing *or* hidden: outsiders cannot tell them apart."""
    return get_visible_or_404(document_list(fetched_by=fetched_by), "No such document.", pk=document_id)


@dataclass(frozen=True)
class Original:
    """Where a reader can get a document as it was ingested: a stored file, or the web page itself."""

    path: Path | None = None
    url: str = ""


def document_original(*, fetched_by: AnyUser, document_id: int) -> Original:
    """The original of a document the user may see (NotFound otherwise, as for a missing one).

    Folder and upload sources serve their file while it is still on disk and inside the source's
    folder (a symlink pointing elsewhere is not followed out); a web page source links to the page.
    """
    document = access_document_by_id(fetched_by=fetched_by, document_id=document_id)
    if document.source.kind == Source.Kind.URL:
        return Original(url=document.uri)
    path = source_file_path(document.source, document.uri)
    if path is None or not path.is_file():
        return Original()
    return Original(path=path)


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
    if visibility.is_admin(fetched_by):
        return list(Source.objects.all())
    visible_sources = Document.objects.visible_to(fetched_by).values("source_id")
    return list(Source.objects.filter(pk__in=visible_sources))


def chunk_preview(*, fetched_by: AnyUser, document_id: int, limit: int) -> list[Chunk]:
    """The first ``limit`` chunks of a document its reader may see, in order (the console's preview)."""
    document = access_document_by_id(fetched_by=fetched_by, document_id=document_id)
    return list(Chunk.objects.visible_to(fetched_by).filter(document=document).order_by("ordinal")[:limit])
