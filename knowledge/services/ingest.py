"""Ingesting one document: read, parse, chunk, embed, then swap its chunks in one transaction.

Safe to run twice, and concurrently: an unchanged file (same checksum, same embedding model) is
skipped; the swap locks the document row first, so two runs take turns and the second simply
replaces the first's chunks. A run that dies before the swap has changed nothing that a reader
can see. Bad input marks the document failed with a reason and raises nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db.models import F, Value
from django.utils import timezone

from core.metrics import DOCUMENTS_INGESTED
from core.rls import acting_as_system
from knowledge.models import Chunk, Document, Source, SyncRun
from knowledge.parsing import BadDocument, ParsedDocument, document_parse
from knowledge.services.chunking import ChunkDraft, document_chunk
from knowledge.services.embeddings import embedding_model_name, passages_embed, tokens_count
from knowledge.services.reading import FetchedItem, item_read
from knowledge.text import searchable_text

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    INGESTED = "ingested"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    GONE = "gone"  # deleted while waiting in the queue
    PAUSED = "paused"  # its source was paused while it waited; resuming queues it again


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    chunks: int = 0
    reason: str = ""


@dataclass(frozen=True)
class _Prepared:
    """A document read, parsed and chunked, waiting for its embeddings."""

    document: Document
    parsed: ParsedDocument
    drafts: list[ChunkDraft]
    checksum: str
    size: int


def document_ingest(*, document_id: int, sync_run_id: int | None = None, force: bool = False) -> IngestResult:
    """Bring one document's chunks up to date with its file; ``force`` re-ingests even if unchanged."""
    return documents_ingest(document_ids=[document_id], sync_run_id=sync_run_id, force=force)[0]


def documents_ingest(
    *, document_ids: list[int], sync_run_id: int | None = None, force: bool = False
) -> list[IngestResult]:
    """Ingest several documents, embedding all their chunks together and swapping them together.

    One embedding call for many short documents runs in full batches, and one transaction for the
    swap saves a round trip per statement per document; both matter on a CPU-bound worker. A crash
    before the swap changes nothing a reader can see, and a re-run skips what is already current.
    """
    prepared: dict[int, _Prepared] = {}
    results: dict[int, IngestResult] = {}
    with acting_as_system():
        found = Document.objects.select_related("source").in_bulk(document_ids)
    for document_id in document_ids:
        document = found.get(document_id)
        outcome = _prepare(document, sync_run_id, force) if document else _gone(sync_run_id)
        if isinstance(outcome, _Prepared):
            prepared[document_id] = outcome
        else:
            results[document_id] = outcome
    if prepared:  # an all-unchanged batch need not even load the model
        vectors = passages_embed([draft.text for p in prepared.values() for draft in p.drafts])
        written = _replace_chunks(list(prepared.values()), list(vectors), sync_run_id)
        for document_id, ready in prepared.items():
            written_here = document_id in written
            results[document_id] = (
                IngestResult(Outcome.INGESTED, len(ready.drafts)) if written_here else _gone(sync_run_id)
            )
    _close_run_if_done(sync_run_id)
    for result in results.values():
        DOCUMENTS_INGESTED.labels(result.outcome.value).inc()
    return [results[document_id] for document_id in document_ids]


def _prepare(document: Document, sync_run_id: int | None, force: bool) -> _Prepared | IngestResult:
    if document.source.paused:
        return IngestResult(Outcome.PAUSED)
    try:
        item = item_read(document.source, document.uri)
        checksum = hashlib.sha256(item.data).hexdigest()
        if not force and _is_current(document, checksum):
            _finish(document, sync_run_id)
            return IngestResult(Outcome.UNCHANGED)
        _set_status(document, Document.Status.PROCESSING)
        parsed, drafts = _parse_and_chunk(item)
    except BadDocument as exc:
        _fail(document, str(exc), sync_run_id)
        return IngestResult(Outcome.FAILED, reason=str(exc))
    return _Prepared(document, parsed, drafts, checksum, len(item.data))


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
        max_rows=settings.ENCLAVE_SHEET_MAX_ROWS,
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


def _replace_chunks(prepared: list[_Prepared], vectors: list[Any], sync_run_id: int | None) -> set[int]:
    """Swap in the new chunks of every prepared document, all in one transaction; returns the ids
    of the documents written (a document deleted meanwhile stays deleted)."""
    with acting_as_system():
        # Row locks, taken in id order so that two batches sharing a document cannot deadlock,
        # make concurrent runs of the same document take turns: never two sets of chunks.
        ids = sorted(ready.document.pk for ready in prepared)
        alive = set(Document.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        Chunk.objects.filter(document_id__in=alive).delete()
        new_chunks = []
        for ready, own_vectors in zip(prepared, _split(vectors, prepared), strict=True):
            if ready.document.pk in alive:
                new_chunks += _chunks_of(ready, own_vectors)
                _mark_ready(ready, sync_run_id)
        Chunk.objects.bulk_create(new_chunks, batch_size=500)
    return alive


def _split(vectors: list[Any], prepared: list[_Prepared]) -> Iterator[list[Any]]:
    start = 0
    for ready in prepared:
        yield vectors[start : start + len(ready.drafts)]
        start += len(ready.drafts)


def _chunks_of(ready: _Prepared, vectors: list[Any]) -> list[Chunk]:
    model = embedding_model_name()
    return [
        Chunk(
            document_id=ready.document.pk,
            ordinal=ordinal,
            text=draft.text,
            metadata={**draft.metadata, "title": ready.parsed.title},
            embedding=vector,
            embedding_model=model,
            # In the INSERT itself: a later UPDATE would write every row (and its HNSW entry) twice.
            search_vector=SearchVector(Value(searchable_text(draft.text)), config="english"),
        )
        for ordinal, (draft, vector) in enumerate(zip(ready.drafts, vectors, strict=True))
    ]


def _mark_ready(ready: _Prepared, sync_run_id: int | None) -> None:
    Document.objects.filter(pk=ready.document.pk).update(
        title=ready.parsed.title[:500] or ready.document.title,
        checksum=ready.checksum,
        size_bytes=ready.size,
        metadata=ready.parsed.metadata,
        status=Document.Status.READY,
        error="",
        ingested_at=timezone.now(),
        sync_run_id=sync_run_id or ready.document.sync_run_id,
    )


def _set_status(document: Document, status: str) -> None:
    with acting_as_system():
        Document.objects.filter(pk=document.pk).update(status=status)


def _fail(document: Document, reason: str, sync_run_id: int | None) -> None:
    log.info("document %s (%s) failed: %s", document.pk, document.uri, reason)
    with acting_as_system():
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED, error=reason, sync_run_id=sync_run_id or document.sync_run_id
        )


def _finish(document: Document, sync_run_id: int | None) -> None:
    if sync_run_id:
        with acting_as_system():
            Document.objects.filter(pk=document.pk).update(sync_run_id=sync_run_id)


def _gone(sync_run_id: int | None) -> IngestResult:
    """A document deleted while queued will never be done: stop counting it, or its run never closes."""
    if sync_run_id:
        with acting_as_system():
            SyncRun.objects.filter(pk=sync_run_id, documents_total__gt=0).update(
                documents_total=F("documents_total") - 1
            )
    return IngestResult(Outcome.GONE)


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
