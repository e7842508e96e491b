"""Building sources and files for ingestion tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fpdf import FPDF

from core.rls import acting_as, acting_as_system
from knowledge.models import Chunk, Document, Source, SyncRun
from knowledge.selectors import SyncProgress, sync_run_progress
from knowledge.services.ingest import IngestResult
from knowledge.services.sources import source_ensure, source_sync, sync_run_ingest_inline
from tests.factories import UserFactory

LEAVE_POLICY = """# Leave policy

## Annual leave

Every employee is entitled to 25 days of paid annual leave per calendar year.

## Sick leave

Up to 10 days of sick leave need no doctor's note.
"""


def folder_source(path: Path, name: str = "Policies") -> Source:
    with acting_as_system():
        return source_ensure(name=name, kind=Source.Kind.FOLDER, config={"path": str(path)})


def sync_inline(source: Source) -> tuple[SyncRun, dict[str, IngestResult]]:
    """Sync and ingest in this process, as `manage.py ingest` does; returns results by file."""
    run = source_sync(source_id=source.pk, enqueue=False)
    results: dict[str, IngestResult] = {}
    sync_run_ingest_inline(run, lambda document, result: results.__setitem__(document.uri, result))
    return run, results


def progress(run: SyncRun) -> SyncProgress:
    admin = UserFactory.create(username="progress-admin", role="knowledge_admin")
    with acting_as(admin):
        run.refresh_from_db()
        return sync_run_progress(fetched_by=admin, run=run)


def documents_by_uri(source: Source) -> dict[str, Document]:
    with acting_as_system():
        return {d.uri: d for d in Document.objects.filter(source=source)}


def chunks_of(document: Document) -> list[Chunk]:
    with acting_as_system():
        return list(Chunk.objects.filter(document=document).order_by("ordinal"))


def pdf_bytes(pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def zip_bomb_docx(uncompressed_mb: int = 300) -> bytes:
    """A .docx-shaped zip whose one entry inflates to hundreds of MB from well under 1 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(uncompressed_mb):
                entry.write(block)
    return buffer.getvalue()
