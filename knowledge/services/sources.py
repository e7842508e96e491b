"""Every write to sources: creating them, syncing them with what they hold, uploading into them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.audit import permission_change_record
from accounts.models import PermissionChange, User
from core.rls import acting_as_system
from knowledge.models import Document, Source, SyncRun
from knowledge.parsing import BadDocument
from knowledge.services.grants import all_staff_change_record, all_staff_visibility_set, target_in_words
from knowledge.services.queue import INGEST_DOCUMENTS, SYNC_SOURCE, task_enqueue
from knowledge.services.reading import SourceUnavailable, source_file_path, source_item_uris, source_root

if TYPE_CHECKING:
    from knowledge.services.ingest import IngestResult


@transaction.atomic
def source_ensure(
    *,
    name: str,
    kind: Source.Kind = Source.Kind.UPLOAD,
    config: dict[str, Any] | None = None,
    visible_to_all_staff: bool = False,
    acting_user: User | None = None,
) -> Source:
    """The source called ``name``, created with these settings if it does not exist yet (recorded
    in the access trail if all staff may see it; unlike source_create, no sync is queued)."""
    source, created = Source.objects.get_or_create(
        name=name,
        defaults={
            "kind": kind,
            "config": config or {},
            "visible_to_all_staff": visible_to_all_staff,
            "created_by": acting_user,
        },
    )
    if created and visible_to_all_staff:
        all_staff_change_record(target=source, acting_user=acting_user)
    return source


@transaction.atomic
def source_create(
    *,
    name: str,
    kind: Source.Kind,
    config: dict[str, Any],
    visible_to_all_staff: bool = False,
    sync_every_minutes: int | None = None,
    permissions_from: Source.PermissionsFrom = Source.PermissionsFrom.GRANTS,
    acting_user: User | None = None,
) -> Source:
    """A new source, recorded in the access trail if all staff may see it, and its first sync queued
    (a source is useless until synced)."""
    source = Source.objects.create(
        name=name,
        kind=kind,
        config=config,
        visible_to_all_staff=visible_to_all_staff,
        sync_every_minutes=sync_every_minutes,
        permissions_from=permissions_from,
        created_by=acting_user,
    )
    if visible_to_all_staff:
        all_staff_change_record(target=source, acting_user=acting_user)
    source_sync_later(source_id=source.pk)
    return source


# The API refuses to change a source's kind (its files would no longer be where it reads them);
# the admin console has always allowed it.
SOURCE_SETTINGS = ("name", "kind", "config", "sync_every_minutes")


@transaction.atomic
def source_update(*, source: Source, acting_user: User | None, **changes: Any) -> Source:
    """Change a source's name, kind, config, schedule, "all staff" flag or where its permissions
    come from (the last two through the access trail, like every change to who may see what)."""
    permissions_from = changes.pop("permissions_from", source.permissions_from)
    _settings_update(source, SOURCE_SETTINGS, changes, acting_user=acting_user)
    source_permissions_from_set(source=source, permissions_from=permissions_from, acting_user=acting_user)
    return source


@transaction.atomic
def source_permissions_from_set(*, source: Source, permissions_from: str, acting_user: User | None) -> bool:
    """Let the source's own ACLs decide, or Enclave's grants; False if it already was so. A trigger
    recomputes every document's principals in this transaction."""
    if source.permissions_from == permissions_from:
        return False
    source.permissions_from = Source.PermissionsFrom(permissions_from)
    source.save(update_fields=["permissions_from", "updated_at"])
    permission_change_record(
        acting_user=acting_user,
        action=PermissionChange.Action.PERMISSIONS_FROM_CHANGED,
        who="everyone with access to it",
        what=target_in_words(source=source),
        detail=f"now: {source.get_permissions_from_display()}",
    )
    return True


@transaction.atomic
def document_create(
    *, source: Source, title: str, visible_to_all_staff: bool = False, acting_user: User | None = None
) -> Document:
    """A document added by hand (the console's "add document"), recorded if all staff may see it."""
    document = Document.objects.create(source=source, title=title, visible_to_all_staff=visible_to_all_staff)
    if visible_to_all_staff:
        all_staff_change_record(target=document, acting_user=acting_user)
    return document


DOCUMENT_SETTINGS = ("title",)


@transaction.atomic
def document_update(*, document: Document, acting_user: User | None, **changes: Any) -> Document:
    """Change a document's title or "all staff" flag (the flag through the access trail)."""
    _settings_update(document, DOCUMENT_SETTINGS, changes, acting_user=acting_user)
    return document


def _settings_update(
    target: Source | Document, settings_allowed: tuple[str, ...], changes: dict[str, Any], *, acting_user: User | None
) -> None:
    unknown = set(changes) - {*settings_allowed, "visible_to_all_staff"}
    if unknown:  # a field added to a form but not here would otherwise be dropped without a word
        raise TypeError(f"{type(target).__name__} settings that cannot be changed here: {', '.join(sorted(unknown))}")
    settings_changed = [field for field in settings_allowed if field in changes]
    for field in settings_changed:
        setattr(target, field, changes[field])
    if settings_changed:
        target.save(update_fields=[*settings_changed, "updated_at"])
    if "visible_to_all_staff" in changes:
        all_staff_visibility_set(target=target, visible=changes["visible_to_all_staff"], acting_user=acting_user)


PAUSED = "The source is paused; resume it to sync."


def source_sync(*, source_id: int, trigger: SyncRun.Trigger = SyncRun.Trigger.MANUAL, enqueue: bool = True) -> SyncRun:
    """Match the source's documents to what it holds now, then queue each document for ingestion.

    New items get a document, items gone from the source are deleted with their chunks, and every
    remaining document is queued (an unchanged one is recognised by its checksum and skipped).
    With ``enqueue=False`` nothing is queued: the caller ingests the documents itself.
    """
    with acting_as_system():
        source = Source.objects.get(pk=source_id)
        if source.paused:
            return SyncRun.objects.create(source=source, trigger=trigger, error=PAUSED, finished_at=timezone.now())
        try:
            uris = source_item_uris(source)
        except SourceUnavailable as exc:
            now = timezone.now()
            return SyncRun.objects.create(source=source, trigger=trigger, error=str(exc), finished_at=now)
        documents = _documents_matching(source, uris)
        run = SyncRun.objects.create(source=source, trigger=trigger, documents_total=len(documents))
        if not documents:
            SyncRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
        if enqueue:
            ids = [document.pk for document in documents]
            transaction.on_commit(lambda: _enqueue_ingestion(ids, run.pk))
    run.refresh_from_db()
    return run


def _documents_matching(source: Source, uris: list[str]) -> list[Document]:
    existing = {document.uri: document for document in source.documents.all()}
    source.documents.exclude(uri__in=uris).delete()
    created = Document.objects.bulk_create(
        Document(source=source, uri=uri, title=_title_from_uri(uri)) for uri in uris if uri not in existing
    )
    by_uri = {**existing, **{document.uri: document for document in created}}
    return [by_uri[uri] for uri in uris]


def _title_from_uri(uri: str) -> str:
    name = PurePosixPath(uri.rstrip("/")).name or uri
    return PurePosixPath(name).stem or name


def _enqueue_ingestion(document_ids: list[int], sync_run_id: int | None, force: bool = False) -> None:
    """Queue the documents in small batches: a batch shares its embedding calls (see documents_ingest)."""
    size = settings.ENCLAVE_INGEST_BATCH_DOCUMENTS
    for start in range(0, len(document_ids), size):
        task_enqueue(INGEST_DOCUMENTS, document_ids[start : start + size], sync_run_id, force)


def source_sync_later(*, source_id: int) -> None:
    """Queue a sync of the source (after the current transaction commits)."""
    Source.objects.filter(pk=source_id).update(sync_queued_at=timezone.now())
    transaction.on_commit(lambda: task_enqueue(SYNC_SOURCE, source_id, SyncRun.Trigger.MANUAL.value))


@transaction.atomic
def source_pause(*, source: Source) -> None:
    """Stop syncing the source: documents still queued are skipped when a worker reaches them
    (they stay waiting), scheduled syncs stop, and what is already ingested stays searchable."""
    Source.objects.filter(pk=source.pk).update(paused=True)


@transaction.atomic
def source_resume(*, source: Source) -> None:
    """Undo a pause: the runs it left open are closed and a fresh sync queues every document again
    (those already ingested are recognised by their checksum and skipped)."""
    Source.objects.filter(pk=source.pk).update(paused=False)
    SyncRun.objects.filter(source=source, finished_at__isnull=True).update(finished_at=timezone.now())
    source_sync_later(source_id=source.pk)


def documents_reingest_later(*, document_ids: list[int]) -> None:
    """Queue documents for ingestion even if their files are unchanged (e.g. after a parser fix)."""
    transaction.on_commit(lambda: _enqueue_ingestion(document_ids, None, force=True))


def sync_run_ingest_inline(run: SyncRun, on_document: Callable[[Document, IngestResult], None]) -> None:
    """Ingest a run's documents in this process, batch by batch (for the command line, no worker)."""
    from knowledge.services.ingest import documents_ingest

    with acting_as_system():
        documents = list(Document.objects.filter(source_id=run.source_id).order_by("uri"))
    size = settings.ENCLAVE_INGEST_BATCH_DOCUMENTS
    for start in range(0, len(documents), size):
        batch = documents[start : start + size]
        results = documents_ingest(document_ids=[d.pk for d in batch], sync_run_id=run.pk)
        for document, result in zip(batch, results, strict=True):
            on_document(document, result)


def sources_due_sync() -> list[int]:
    """Scheduled sources whose interval has passed since they last finished syncing.

    A source with a run still open is left alone unless that run is hours old (a worker lost it),
    so a slow sync is not queued again every minute.
    """
    now = timezone.now()
    recent_open_run = SyncRun.objects.filter(
        source=OuterRef("pk"), finished_at__isnull=True, started_at__gt=now - timedelta(hours=6)
    )
    with acting_as_system():
        scheduled = (
            Source.objects.filter(sync_every_minutes__isnull=False, paused=False)
            .exclude(Exists(recent_open_run))
            .only("id", "sync_every_minutes", "last_synced_at")
        )
        return [
            source.pk
            for source in scheduled
            if source.last_synced_at is None
            or source.last_synced_at + timedelta(minutes=source.sync_every_minutes or 0) <= now
        ]


def document_upload(*, source: Source, filename: str, data: bytes) -> Document:
    """Store an uploaded file in an upload source and queue it; a same-named file is replaced."""
    if source.kind != Source.Kind.UPLOAD:
        raise BadDocument(f"{source.name} is not an upload source; files can only be added to upload sources.")
    name = _safe_filename(filename)
    root = source_root(source)
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(data)
    with acting_as_system():
        document, _ = Document.objects.get_or_create(source=source, uri=name, defaults={"title": _title_from_uri(name)})
        run = SyncRun.objects.create(source=source, trigger=SyncRun.Trigger.UPLOAD, documents_total=1)
        transaction.on_commit(lambda: _enqueue_ingestion([document.pk], run.pk))
    return document


def _safe_filename(filename: str) -> str:
    """The last path component only, so an upload can never write outside its source's folder."""
    name = Path(filename.replace("\\", "/")).name.strip()
    if name in {"", ".", ".."} or name.startswith("."):
        raise BadDocument(f"{filename!r} is not a usable file name.")
    return name


@transaction.atomic
def documents_delete(*, documents: Iterable[Document]) -> int:
    """Delete documents with their chunks and grants; returns how many.

    An uploaded document's stored file goes too (once the deletion commits), or the upload source's
    next sync would find the file and bring the document back. A folder source's files belong to
    whoever owns the folder and are left alone: exclude them in the source's config instead.
    """
    documents = list(documents)
    uploaded = [source_file_path(d.source, d.uri) for d in documents if d.source.kind == Source.Kind.UPLOAD]
    with acting_as_system():
        Document.objects.filter(pk__in=[d.pk for d in documents]).delete()
    transaction.on_commit(lambda: _remove_files([path for path in uploaded if path is not None]))
    return len(documents)


@transaction.atomic
def sources_delete(*, sources: Iterable[Source]) -> int:
    """Delete sources with all their documents, chunks and grants; an upload source's stored files
    go too, once the deletion commits."""
    sources = list(sources)
    folders = [source_root(s) for s in sources if s.kind == Source.Kind.UPLOAD]
    with acting_as_system():
        Source.objects.filter(pk__in=[s.pk for s in sources]).delete()
    transaction.on_commit(lambda: _remove_folders(folders))
    return len(sources)


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
