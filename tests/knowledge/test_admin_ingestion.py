"""Knowledge admins run ingestion from the console: sync now, upload, re-ingest; staff cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.rls import acting_as_system
from knowledge.models import Document, Source
from knowledge.services.sources import source_ensure
from tests.conftest import People
from tests.knowledge.helpers import LEAVE_POLICY, folder_source, sync_inline

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_the_source_list_shows_each_sources_progress(people: People, tmp_path: Path) -> None:
    (tmp_path / "leave.md").write_text(LEAVE_POLICY)
    (tmp_path / "empty.txt").write_text("")
    sync_inline(folder_source(tmp_path))
    page = signed_in(people.admin).get("/admin/knowledge/source/").content.decode()
    assert '<progress value="100" max="100" ></progress> 2/2 documents, 1 failed, 2 chunks' in page
    failed = signed_in(people.admin).get("/admin/knowledge/document/?status__exact=failed").content.decode()
    assert "The file is empty (0 bytes)." in failed


def test_sync_now_queues_a_sync_after_the_request_commits(
    people: People, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    source = folder_source(tmp_path)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = signed_in(people.admin).post(
            "/admin/knowledge/source/", {"action": "sync_now", "_selected_action": [source.pk]}, follow=True
        )
    assert "Sync queued for 1 source(s)" in response.content.decode()
    assert len(queued) == 1


def test_files_uploaded_in_the_console_land_in_the_source(
    people: People, settings, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOADS_DIR = tmp_path
    with acting_as_system():
        source = source_ensure(name="Handbooks")
    client = signed_in(people.admin)
    assert "Upload files" in client.get(f"/admin/knowledge/source/{source.pk}/change/").content.decode()
    upload = SimpleUploadedFile("leave.md", LEAVE_POLICY.encode())
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"/admin/knowledge/source/{source.pk}/upload/", {"files": [upload]}, follow=True)
    assert "1 file(s) received" in response.content.decode()
    assert len(queued) == 1
    assert (tmp_path / str(source.pk) / "leave.md").read_text() == LEAVE_POLICY
    with acting_as_system():
        assert Document.objects.filter(source=source, uri="leave.md").exists()


def test_staff_cannot_reach_the_upload_page_or_sources(people: People, tmp_path: Path) -> None:
    with acting_as_system():
        source = source_ensure(name="Handbooks", kind=Source.Kind.UPLOAD)
    client = signed_in(people.alice)
    for url in (f"/admin/knowledge/source/{source.pk}/upload/", "/admin/knowledge/source/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
