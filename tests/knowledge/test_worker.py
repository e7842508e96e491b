"""Ingestion through a real Celery worker process, the embedded broker and the test database."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from core.rls import acting_as_system
from knowledge.models import Document, SyncRun
from knowledge.services.ingest import Outcome, document_ingest
from knowledge.services.sources import source_sync
from tests.knowledge.helpers import LEAVE_POLICY, chunks_of, documents_by_uri, folder_source, progress
from tests.worker import start_worker, stop, wait_for

# Django empties the tables after each transactional test only through non-mirror connections:
# "owner" here, since "default" mirrors it (see config/settings.py).
pytestmark = [
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
    pytest.mark.usefixtures("worker_queue"),
]


def run_finished(run: SyncRun) -> Callable[[], bool]:
    def check() -> bool:
        with acting_as_system():
            return SyncRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists()

    return check


def test_the_worker_ingests_updates_and_removes_a_folder(tmp_path: Path, worker: subprocess.Popen[bytes]) -> None:
    (tmp_path / "leave.md").write_text(LEAVE_POLICY)
    (tmp_path / "notes.txt").write_text("Meeting rooms are booked in the calendar.")
    (tmp_path / "empty.txt").write_text("")
    source = folder_source(tmp_path)

    first = source_sync(source_id=source.pk)
    wait_for(run_finished(first), what="the first sync")
    documents = documents_by_uri(source)
    assert documents["leave.md"].status == Document.Status.READY and chunks_of(documents["leave.md"])
    assert documents["empty.txt"].status == Document.Status.FAILED and "empty" in documents["empty.txt"].error
    assert (progress(first).done, progress(first).failed) == (3, 1)

    (tmp_path / "leave.md").write_text(LEAVE_POLICY.replace("25 days", "30 days"))
    (tmp_path / "notes.txt").unlink()
    second = source_sync(source_id=source.pk)
    wait_for(run_finished(second), what="the second sync")
    documents = documents_by_uri(source)
    assert set(documents) == {"leave.md", "empty.txt"}
    assert "30 days" in " ".join(c.text for c in chunks_of(documents["leave.md"]))


def big_document(paragraphs: int) -> str:
    return "\n\n".join(
        f"Section {n}. Policy clause {n} describes how request number {n} is filed, reviewed and approved "
        f"by the responsible team within {n % 9 + 1} working days."
        for n in range(paragraphs)
    )


def test_a_worker_killed_mid_document_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text(big_document(200))
    source = folder_source(tmp_path)
    doomed = start_worker(visibility_timeout=5)
    try:
        run = source_sync(source_id=source.pk)

        def processing() -> bool:
            return documents_by_uri(source)["big.txt"].status == Document.Status.PROCESSING

        wait_for(processing, what="the worker to start on the document")
        time.sleep(1)  # now it is embedding
    finally:
        stop(doomed, signal.SIGKILL)
    document = documents_by_uri(source)["big.txt"]
    assert document.status == Document.Status.PROCESSING and chunks_of(document) == []

    survivor = start_worker(visibility_timeout=5)
    try:
        wait_for(run_finished(run), what="the task to be redelivered and finished")
        chunks = chunks_of(documents_by_uri(source)["big.txt"])
        assert len(chunks) > 10
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))

    finally:
        stop(survivor)
    assert progress(run).done == 1


def test_the_same_document_ingested_twice_at_once_keeps_one_set_of_chunks(tmp_path: Path) -> None:
    """A duplicate delivery: two workers on the same document at the same moment."""
    (tmp_path / "big.txt").write_text(big_document(60))
    source = folder_source(tmp_path)
    run = source_sync(source_id=source.pk, enqueue=False)
    document = documents_by_uri(source)["big.txt"]
    results = []

    def ingest() -> None:
        try:
            results.append(document_ingest(document_id=document.pk, sync_run_id=run.pk, force=True))
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert [r.outcome for r in results] == [Outcome.INGESTED, Outcome.INGESTED]
    chunks = chunks_of(document)
    assert len(chunks) == results[0].chunks
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert progress(run).done == 1
