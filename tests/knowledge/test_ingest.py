"""Ingestion through the real parsers, chunker, embedding model and database (in this process)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import PermissionChange
from core.rls import acting_as, acting_as_system
from knowledge.models import Chunk, Document, Source
from knowledge.selectors import document_list
from knowledge.services.grants import grant_create
from knowledge.services.ingest import Outcome
from knowledge.services.sources import document_upload, source_ensure
from tests.conftest import People
from tests.knowledge.helpers import (
    LEAVE_POLICY,
    chunks_of,
    documents_by_uri,
    folder_source,
    pdf_bytes,
    progress,
    sync_inline,
    zip_bomb_docx,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "leave.md").write_text(LEAVE_POLICY)
    (tmp_path / "年假.txt").write_text(
        "年假政策。员工每年享有二十五天带薪年假。\n\n病假不占用年假天数。", encoding="utf-8"
    )
    (tmp_path / "handbook.pdf").write_bytes(pdf_bytes(["Welcome to the company.", "Expenses are paid monthly."]))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("Meeting rooms are booked in the calendar.")
    return tmp_path


def test_a_folder_becomes_embedded_searchable_chunks(folder: Path) -> None:
    source = folder_source(folder)
    run, results = sync_inline(source)
    assert {uri: r.outcome for uri, r in results.items()} == dict.fromkeys(
        ["handbook.pdf", "leave.md", "sub/notes.txt", "年假.txt"], Outcome.INGESTED
    )
    documents = documents_by_uri(source)
    assert documents["leave.md"].title == "Leave policy"
    assert all(d.status == Document.Status.READY and d.error == "" for d in documents.values())
    leave_chunks = chunks_of(documents["leave.md"])
    assert {c.metadata["section"] for c in leave_chunks} == {"Leave policy > Annual leave", "Leave policy > Sick leave"}
    assert all(c.embedding is not None and len(c.embedding) == 384 for c in leave_chunks)
    assert {c.embedding_model for c in leave_chunks} == {"multilingual-e5-small"}
    pdf_chunks = chunks_of(documents["handbook.pdf"])  # two short pages fit one chunk, which says so
    assert [(c.metadata["page"], c.metadata.get("pages")) for c in pdf_chunks] == [(1, [1, 2])]
    assert "二十五天" in chunks_of(documents["年假.txt"])[0].text
    with acting_as_system():
        assert Chunk.objects.filter(document__source=source, search_vector__isnull=True).count() == 0
        assert Chunk.objects.filter(search_vector="sick").exists()  # full-text column, English stemming
    done = progress(run)
    assert (done.total, done.done, done.failed, done.finished) == (4, 4, 0, True)
    assert done.chunks == sum(len(chunks_of(d)) for d in documents.values())


def test_unchanged_files_are_skipped_and_changed_files_replaced_atomically(folder: Path) -> None:
    source = folder_source(folder)
    sync_inline(source)
    before = {c.pk for c in chunks_of(documents_by_uri(source)["sub/notes.txt"])}
    (folder / "leave.md").write_text(LEAVE_POLICY.replace("25 days", "30 days"))
    run, results = sync_inline(source)
    assert results["sub/notes.txt"].outcome == Outcome.UNCHANGED
    assert results["leave.md"].outcome == Outcome.INGESTED
    assert {c.pk for c in chunks_of(documents_by_uri(source)["sub/notes.txt"])} == before
    leave_text = " ".join(c.text for c in chunks_of(documents_by_uri(source)["leave.md"]))
    assert "30 days" in leave_text and "25 days" not in leave_text
    assert progress(run).done == 4  # skipped documents count as done


def test_a_file_gone_from_the_folder_is_deleted_with_its_chunks(folder: Path) -> None:
    source = folder_source(folder)
    sync_inline(source)
    gone = documents_by_uri(source)["sub/notes.txt"]
    (folder / "sub" / "notes.txt").unlink()
    sync_inline(source)
    assert "sub/notes.txt" not in documents_by_uri(source)
    with acting_as_system():
        assert not Chunk.objects.filter(document_id=gone.pk).exists()


def test_changing_the_embedding_model_re_embeds_unchanged_files(folder: Path, settings) -> None:  # type: ignore[no-untyped-def]
    source = folder_source(folder)
    sync_inline(source)
    settings.ENCLAVE_EMBEDDING_MODEL = "use-multilingual-v3"  # 512-d where the default is 384-d
    _, results = sync_inline(source)
    assert {r.outcome for r in results.values()} == {Outcome.INGESTED}
    with acting_as_system():
        chunks = list(Chunk.objects.filter(document__source=source))
    assert {c.embedding_model for c in chunks} == {"use-multilingual-v3"}
    assert {len(c.embedding) for c in chunks if c.embedding is not None} == {512}


def test_chunks_inherit_the_sources_grants(folder: Path, people: People) -> None:
    source = folder_source(folder)
    with acting_as_system():
        grant_create(group=people.hr, source=source)
    sync_inline(source)
    with acting_as(people.bob):
        assert Chunk.objects.filter(document__source=source).count() > 0
        assert len(document_list(fetched_by=people.bob)) == 4
    with acting_as(people.charlie):
        assert Chunk.objects.filter(document__source=source).count() == 0


BAD_FILES = {
    "empty.txt": (b"", "empty"),
    "blank.md": (b"   \n\n  ", "empty"),
    "binary.txt": (os.urandom(2048) + b"\0\0\0", "binary"),
    "damaged.pdf": (b"%PDF-1.7\n this is not really a pdf", "damaged"),
    "picture.png": (b"\x89PNG\r\n\x1a\n" + os.urandom(64), "Unsupported file type"),
    "bomb.docx": (zip_bomb_docx(), "zip bomb"),
    "broken.docx": (b"PK\x03\x04 not a real zip", "docx"),
}


def test_each_bad_file_fails_with_a_reason_and_the_rest_is_ingested(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_MAX_FILE_BYTES = 1024 * 1024
    for name, (data, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "huge.txt").write_text("word " * 300_000)
    (tmp_path / "good.md").write_text(LEAVE_POLICY)
    source = folder_source(tmp_path)
    run, _ = sync_inline(source)
    documents = documents_by_uri(source)
    assert documents["good.md"].status == Document.Status.READY
    for name, (_, words) in {**BAD_FILES, "huge.txt": (b"", "limit")}.items():
        assert documents[name].status == Document.Status.FAILED, name
        assert words.lower() in documents[name].error.lower(), (name, documents[name].error)
        assert not chunks_of(documents[name])
    assert (progress(run).failed, progress(run).done) == (len(BAD_FILES) + 1, len(BAD_FILES) + 2)


def test_a_folder_that_does_not_exist_fails_the_sync_with_a_reason(tmp_path: Path) -> None:
    source = folder_source(tmp_path / "missing")
    run, _ = sync_inline(source)
    assert "does not exist" in run.error and run.finished_at is not None


def test_the_ingest_command_shows_progress_and_grants_the_group(folder: Path, people: People) -> None:
    out = io.StringIO()
    call_command("ingest", str(folder), "--source", "Policies", "--grant-group", "hr", stdout=out)
    output = out.getvalue()
    assert "[" + "#" * 30 + "] 4/4" in output
    assert "Policies: 4 ingested, 0 unchanged, 0 failed, 4 in all" in output
    with acting_as(people.bob):
        assert {d.title for d in document_list(fetched_by=people.bob)} >= {"Leave policy"}
    again = io.StringIO()
    call_command("ingest", str(folder), "--source", "Policies", stdout=again)
    assert "0 ingested, 4 unchanged" in again.getvalue()


def test_the_ingest_command_records_making_a_source_visible_to_all_staff(tmp_path: Path, people: People) -> None:
    for options in ([], ["--all-staff"], ["--all-staff"]):  # the last finds nothing to change
        call_command("ingest", str(tmp_path), "--source", "Notices", *options, stdout=io.StringIO())
    with acting_as_system():
        assert Source.objects.get(name="Notices").visible_to_all_staff
    trail = [(c.changed_by_name, c.action, c.what) for c in PermissionChange.objects.all()]
    assert trail == [("system", PermissionChange.Action.ALL_STAFF_ON, "source 'Notices'")]


def test_uploads_are_stored_inside_the_source_and_names_cannot_escape_it(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOADS_DIR = tmp_path / "uploads"
    with acting_as_system():
        source = source_ensure(name="Uploads")
    document = document_upload(source=source, filename="../../etc/leave.md", data=LEAVE_POLICY.encode())
    assert document.uri == "leave.md"
    assert (tmp_path / "uploads" / str(source.pk) / "leave.md").read_text() == LEAVE_POLICY
    _, results = sync_inline(source)
    assert results["leave.md"].outcome == Outcome.INGESTED
