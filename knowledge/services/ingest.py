"""Ingesting one document: read, parse, chunk, embed, then swap its chunks in one transaction.

Safe to run twice, and concurrently: an unchanged file (same checksum, same embedding model) is
skipped; the swap locks the document row first, so two runs take turns and the second simply
replaces the first's chunks. A run that dies before the swap has changed nothing that a reader
can see. Bad input marks the document failed with a reason and raises nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db.models import F
from django.utils import timezone

from knowledge.models import Chunk, Document, Source, SyncRun
from knowledge.rls import acting_as_system
from knowledge.services.chunking import ChunkDraft, document_chunk
from knowledge.services.embeddings import embedding_model_name, passages_embed, tokens_count
from knowledge.services.parsing import BadDocument, ParsedDocument, document_parse
from knowledge.services.reading import FetchedItem, item_read

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    INGESTED = "ingested"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    GONE = "gone"  # deleted while waiting in the queue


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    chunks: int = 0
    reason: str = ""


def document_ingest(*, document_id: int, sync_run_id: int | None = None, force: bool = False) -> IngestResult:
    """Bring one document's chunks up to date with its file; ``force`` re-ingests even if unchanged."""
    with acting_as_system():
        document = Document.objects.select_related("source").filter(pk=document_id).first()
    if document is None:
        _forget_in_run(sync_run_id)
        return IngestResult(Outcome.GONE)
    try:
        item = item_read(document.source, document.uri)
        checksum = hashlib.sha256(item.data).hexdigest()
        if not force and _is_current(document, checksum):
            _finish(document, sync_run_id)
            return IngestResult(Outcome.UNCHANGED)
        _set_status(document, Document.Status.PROCESSING)
        parsed, drafts = _parse_and_chunk(item)
        vectors = passages_embed([draft.text for draft in drafts])
    except BadDocument as exc:
        _fail(document, str(exc), sync_run_id)
        return IngestResult(Outcome.FAILED, reason=str(exc))
    _replace_chunks(document, parsed, drafts, vectors, checksum, len(item.data), sync_run_id)
    return IngestResult(Outcome.INGESTED, chunks=len(drafts))


def _is_current(document: Document, checksum: str) -> bool:
    if document.checksum != checksum or document.status != Document.Status.READY:
        return False
    with acting_as_system():
        return not document.chunks.exclude(embedding_model=embedding_model_name()).exists()


def _parse_and_chunk(item: FetchedItem) -> tuple[ParsedDocument, list[ChunkDraft]]:
    parsed = document_parse(
        data=item.data,
        filename=item.filename,
        content_type=item.content_type,
        max_bytes=settings.ENCLAVE_MAX_FILE_BYTES,
    )
    drafts = document_chunk(
        parsed.blocks,
        count_tokens=tokens_count,
        max_tokens=settings.ENCLAVE_CHUNK_TOKENS,
        overlap_tokens=settings.ENCLAVE_CHUNK_OVERLAP_TOKENS,
    )
    if not drafts:
        raise BadDocument("The file contains no text to search.")
    return parsed, drafts


def _replace_chunks(
    document: Document,
    parsed: ParsedDocument,
    drafts: list[ChunkDraft],
    vectors: object,
    checksum: str,
    size: int,
    sync_run_id: int | None,
) -> None:
    model = embedding_model_name()
    with acting_as_system():
        # The row lock makes concurrent runs of the same document take turns (no duplicate chunks).
        locked = Document.objects.select_for_update().filter(pk=document.pk).first()
        if locked is None:
            return  # deleted meanwhile: nothing to write
        Chunk.objects.filter(document=locked).delete()
        Chunk.objects.bulk_create(
            Chunk(
                document=locked,
                ordinal=ordinal,
                text=draft.text,
                metadata={**draft.metadata, "title": parsed.title},
                embedding=vector,
                embedding_model=model,
            )
            for ordinal, (draft, vector) in enumerate(zip(drafts, vectors, strict=True))  # type: ignore[call-overload]
        )
        Chunk.objects.filter(document=locked).update(search_vector=SearchVector("text", config="english"))
        Document.objects.filter(pk=locked.pk).update(
            title=parsed.title[:500] or locked.title,
            checksum=checksum,
            size_bytes=size,
            metadata=parsed.metadata,
            status=Document.Status.READY,
            error="",
            ingested_at=timezone.now(),
            sync_run_id=sync_run_id or locked.sync_run_id,
        )
    _close_run_if_done(sync_run_id)


def _set_status(document: Document, status: str) -> None:
    with acting_as_system():
        Document.objects.filter(pk=document.pk).update(status=status)


def _fail(document: Document, reason: str, sync_run_id: int | None) -> None:
    log.info("document %s (%s) failed: %s", document.pk, document.uri, reason)
    with acting_as_system():
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED, error=reason, sync_run_id=sync_run_id or document.sync_run_id
        )
    _close_run_if_done(sync_run_id)


def _finish(document: Document, sync_run_id: int | None) -> None:
    if sync_run_id:
        with acting_as_system():
            Document.objects.filter(pk=document.pk).update(sync_run_id=sync_run_id)
        _close_run_if_done(sync_run_id)


def _forget_in_run(sync_run_id: int | None) -> None:
    """A document deleted while queued will never be done: stop counting it, or its run never closes."""
    if sync_run_id:
        with acting_as_system():
            SyncRun.objects.filter(pk=sync_run_id, documents_total__gt=0).update(
                documents_total=F("documents_total") - 1
            )
        _close_run_if_done(sync_run_id)


def _close_run_if_done(sync_run_id: int | None) -> None:
    """Mark the run finished once every document it counted is done; the conditional update means
    that two workers finishing the last documents at once close it exactly once."""
    if not sync_run_id:
        return
    with acting_as_system():
        run = SyncRun.objects.filter(pk=sync_run_id, finished_at__isnull=True).first()
        if run is None:
            return
        done = Document.objects.filter(sync_run=run).exclude(
            status__in=[Document.Status.PENDING, Document.Status.PROCESSING]
        )
        if done.count() >= run.documents_total:
            now = timezone.now()
            if SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(finished_at=now):
                Source.objects.filter(pk=run.source_id).update(last_synced_at=now)
