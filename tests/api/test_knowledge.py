"""Search, documents and knowledge administration over the API: the same selectors and services as
the page and the console, with every access change recorded under the admin who made it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from rest_framework.test import APIClient

from accounts.models import PermissionChange
from core.rls import acting_as_system
from knowledge import tasks
from knowledge.models import Document, Grant, Source
from knowledge.services.ingest import documents_ingest
from tests.conftest import Corpus, People
from tests.factories import DocumentFactory, SourceFactory
from tests.knowledge.helpers import LEAVE_POLICY

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(settings: Any, tmp_path: Path) -> Path:
    settings.UPLOADS_DIR = tmp_path / "uploads"
    return settings.UPLOADS_DIR


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Tasks queued (their .delay calls), no broker. The test's transaction never commits, so what
    would run on commit runs at once."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in ("sync_source", "ingest_documents"):
        monkeypatch.setattr(getattr(tasks, name), "delay", lambda *args, name=name: calls.append((name, args)))
    monkeypatch.setattr(transaction, "on_commit", lambda callback, *args, **kwargs: callback())
    return calls


def test_search_returns_scored_passages_the_caller_may_see(
    people: People, corpus: Corpus, api: Callable[..., APIClient]
) -> None:
    found = api(people.alice).get("/api/v1/search", {"q": "chunk", "k": 3}).json()
    assert found["query"] == "chunk" and len(found["results"]) == 3
    hit = found["results"][0]
    assert set(hit) == {"chunk", "document", "title", "source", "section", "page", "text", "score", "distance"}
    assert hit["score"] > 0 and [h["score"] for h in found["results"]] == sorted(
        (h["score"] for h in found["results"]), reverse=True
    )
    only_board = api(people.alice).get("/api/v1/search", {"q": "chunk", "source": corpus.memo.source_id}).json()
    assert {h["title"] for h in only_board["results"]} == {"Board memo"}
    nothing = api(people.alice).get("/api/v1/search", {"q": "chunk", "format": "pdf"}).json()
    assert nothing["results"] == []  # ?format= filters by the documents' format


@pytest.mark.parametrize(
    ("query", "field"),
    [({}, "q"), ({"q": "x", "k": 0}, "k"), ({"q": "x", "k": 51}, "k"), ({"q": "x", "source": "hr"}, "source.0")],
)
def test_a_malformed_search_is_a_400_naming_the_parameter(
    people: People, api: Callable[..., APIClient], query: dict[str, Any], field: str
) -> None:
    response = api(people.alice).get("/api/v1/search", query)
    assert response.status_code == 400 and list(response.json()["fields"]) == [field]


def test_documents_are_filtered_ordered_and_paged(
    people: People, corpus: Corpus, api: Callable[..., APIClient], django_assert_max_num_queries: Any
) -> None:
    with acting_as_system():
        DocumentFactory.create_batch(30, source=corpus.handbook, status=Document.Status.FAILED)
    alice = api(people.alice)
    with django_assert_max_num_queries(10):
        page = alice.get("/api/v1/documents", {"page_size": 10, "ordering": "-title"}).json()
    assert page["count"] == 33 and len(page["results"]) == 10 and page["next"].endswith("page=2&page_size=10")
    titles = [d["title"] for d in page["results"]]
    assert titles == sorted(titles, reverse=True)
    assert alice.get("/api/v1/documents", {"status": "ready"}).json()["count"] == 3
    assert alice.get("/api/v1/documents", {"q": "memo"}).json()["results"][0]["title"] == "Board memo"
    assert alice.get("/api/v1/documents", {"source": corpus.notices.pk}).json()["count"] == 1
    assert len(alice.get("/api/v1/documents", {"page_size": 1000}).json()["results"]) == 33  # at most 100
    assert alice.get("/api/v1/documents", {"page_size": "ten"}).status_code == 400
    assert alice.get("/api/v1/documents", {"page": 9}).status_code == 404
    assert alice.get("/api/v1/documents", {"status": "lost"}).json()["fields"]["status"]


def test_a_filter_only_narrows_what_the_caller_may_see(
    people: People, corpus: Corpus, api: Callable[..., APIClient]
) -> None:
    charlie, alice = api(people.charlie), api(people.alice)
    assert charlie.get("/api/v1/documents", {"source": corpus.handbook.pk}).json()["count"] == 0
    assert charlie.get("/api/v1/documents", {"q": "salary"}).json()["count"] == 0
    assert alice.get("/api/v1/documents", {"q": "salary"}).json()["count"] == 1
    assert alice.get("/api/v1/documents", {"q": "", "status": "", "format": ""}).json()["count"] == 3  # blank: any


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/v1/documents", {"source": ""}),
        ("/api/v1/documents", {"source": "1.5"}),
        ("/api/v1/documents", {"source": 0}),
        ("/api/v1/documents", {"format": "x" * 17}),
        ("/api/v1/documents", {"q": "x" * 201}),
        ("/api/v1/grants", {"document": "memo"}),
        ("/api/v1/grants", {"user": "x" * 151}),
        ("/api/v1/conversations", {"q": "x" * 201}),
    ],
)
def test_a_malformed_filter_is_a_400_naming_the_parameter(
    people: People, api: Callable[..., APIClient], url: str, query: dict[str, Any]
) -> None:
    response = api(people.admin).get(url, query)
    [name] = query
    assert response.status_code == 400
    assert response.json()["message"] == f"Some fields are not valid: {name}." and list(response.json()["fields"]) == [
        name
    ]


def test_a_web_page_document_downloads_as_a_redirect_to_the_page(people: People, api: Callable[..., APIClient]) -> None:
    with acting_as_system():
        source = SourceFactory.create(kind=Source.Kind.URL, visible_to_all_staff=True)
        page = DocumentFactory.create(source=source, uri="https://intranet.example/travel")
    response = api(people.charlie).get(f"/api/v1/documents/{page.pk}/download")
    assert response.status_code == 302 and response["Location"] == "https://intranet.example/travel"


def test_admins_see_who_can_see_a_document_and_why(
    people: People, corpus: Corpus, api: Callable[..., APIClient]
) -> None:
    audience = api(people.admin).get(f"/api/v1/documents/{corpus.salaries.pk}/audience").json()
    reasons = {viewer["username"]: viewer["reasons"] for viewer in audience["viewers"]}
    assert reasons == {
        "admin": ["knowledge admin"],
        "alice": ["granted the source 'HR handbook' directly"],
        "bob": ["granted the source 'HR handbook' through the group 'hr'"],
    }
    assert audience["viewer_count"] == 3 and len(audience["grants"]) == 2


def test_sources_are_created_checked_changed_and_deleted(
    people: People, corpus: Corpus, api: Callable[..., APIClient], queued: list[Any], uploads: Path
) -> None:
    admin = api(people.admin)
    bad = admin.post("/api/v1/sources", {"name": "Policies", "kind": "folder", "config": {}}, format="json")
    assert bad.status_code == 400 and "path" in bad.json()["fields"]["config"][0]
    twice = admin.post("/api/v1/sources", {"name": "HR handbook", "kind": "upload"}, format="json")
    assert twice.json()["fields"]["name"] == ["source with this name already exists."]
    web = {"name": "Intranet", "kind": "url", "config": {"urls": ["https://intranet.example/"]}}
    created = admin.post("/api/v1/sources", {**web, "visible_to_all_staff": True}, format="json")
    assert created.status_code == 201
    source = created.json()
    assert source["document_count"] == 0 and source["sync"] is None
    assert queued == [("sync_source", (source["id"], "manual"))]  # its first sync
    change = PermissionChange.objects.get(action=PermissionChange.Action.ALL_STAFF_ON)
    assert (change.changed_by, change.what) == (people.admin, "source 'Intranet'")

    url = f"/api/v1/sources/{source['id']}"
    changed = admin.patch(url, {"visible_to_all_staff": False, "sync_every_minutes": 60}, format="json").json()
    assert (changed["visible_to_all_staff"], changed["sync_every_minutes"]) == (False, 60)
    assert PermissionChange.objects.filter(action="all_staff_off", changed_by=people.admin).count() == 1
    assert admin.patch(url, {"kind": "folder"}, format="json").json()["fields"]["kind"]

    assert admin.delete(f"/api/v1/sources/{corpus.handbook.pk}").status_code == 204
    assert api(people.bob).get(f"/api/v1/documents/{corpus.salaries.pk}").status_code == 404


def test_a_sync_is_queued_unless_the_source_is_paused(
    people: People, corpus: Corpus, api: Callable[..., APIClient], queued: list[Any]
) -> None:
    admin = api(people.admin)
    base = f"/api/v1/sources/{corpus.handbook.pk}"
    response = admin.post(f"{base}/sync")
    assert response.status_code == 202 and queued == [("sync_source", (corpus.handbook.pk, "manual"))]
    assert admin.get(base).json()["sync_queued"] is True  # until a worker starts it
    assert admin.post(f"{base}/pause").json()["paused"] is True
    paused = admin.post(f"{base}/sync")
    assert paused.status_code == 409 and paused.json() == {
        "code": "conflict",
        "message": "The source is paused; resume it to sync.",
        "fields": {},
    }
    assert admin.get(f"{base}/status").json() == {
        "state": "paused",
        "last_synced_at": None,
        "sync": None,
        "documents": {"pending": 0, "processing": 0, "ready": 1, "failed": 0},
    }
    assert admin.post(f"{base}/resume").json()["paused"] is False and len(queued) == 2


def test_upload_then_grant_makes_a_document_answerable_for_the_group(
    people: People, api: Callable[..., APIClient], queued: list[Any], uploads: Path
) -> None:
    """The integrator's path: create an upload source, upload a file, grant a group; once the worker
    has ingested it, the group's members find it."""
    admin = api(people.admin)
    source = admin.post("/api/v1/sources", {"name": "Policies", "kind": "upload"}, format="json").json()
    upload = SimpleUploadedFile("leave.md", LEAVE_POLICY.encode())
    document = admin.post(f"/api/v1/sources/{source['id']}/documents", {"file": upload}, format="multipart").json()
    assert (document["title"], document["status"]) == ("leave", "pending")
    assert ("ingest_documents", ([document["id"]], document_run(document["id"]), False)) in queued
    grant = admin.post("/api/v1/grants", {"group": "hr", "document": document["id"]}, format="json")
    assert grant.status_code == 201 and grant.json()["granted_by"] == "admin"
    recorded = PermissionChange.objects.get(action=PermissionChange.Action.GRANT_ADDED)
    assert recorded.changed_by == people.admin and recorded.who == "group hr"

    documents_ingest(document_ids=[document["id"]], sync_run_id=None)  # what the worker does
    found = api(people.bob).get("/api/v1/search", {"q": "annual leave days"}).json()["results"]
    assert found and found[0]["title"] == "Leave policy"  # the title ingestion read from the file
    assert api(people.charlie).get("/api/v1/search", {"q": "annual leave days"}).json()["results"] == []
    status = admin.get(f"/api/v1/sources/{source['id']}/status").json()
    assert status["documents"]["ready"] == 1


def document_run(document_id: int) -> int:
    with acting_as_system():
        return Document.objects.get(pk=document_id).sync_run_id or Source.objects.get().sync_runs.get().pk


def test_uploads_that_cannot_be_taken_are_refused_with_the_reason(
    people: People, corpus: Corpus, api: Callable[..., APIClient], uploads: Path, settings: Any, queued: list[Any]
) -> None:
    admin = api(people.admin)
    folder = admin.post(
        "/api/v1/sources", {"name": "Shared", "kind": "folder", "config": {"path": "/srv/shared"}}, format="json"
    ).json()
    into_folder = admin.post(
        f"/api/v1/sources/{folder['id']}/documents", {"file": SimpleUploadedFile("a.txt", b"a")}, format="multipart"
    )
    assert into_folder.status_code == 400 and "not an upload source" in into_folder.json()["fields"]["file"][0]
    assert into_folder.json()["message"] == into_folder.json()["fields"]["file"][0]  # the reason, not "invalid"
    hidden = admin.post(
        f"/api/v1/sources/{corpus.handbook.pk}/documents",
        {"file": SimpleUploadedFile(".env", b"a")},
        format="multipart",
    )
    assert hidden.status_code == 400 and "not a usable file name" in hidden.json()["fields"]["file"][0]
    settings.ENCLAVE_MAX_FILE_BYTES = 10
    too_big = admin.post(
        f"/api/v1/sources/{corpus.handbook.pk}/documents",
        {"file": SimpleUploadedFile("big.txt", b"x" * 11)},
        format="multipart",
    )
    assert too_big.status_code == 413
    assert too_big.json()["message"] == "big.txt is 11 bytes; files may be at most 10 bytes."


def test_grants_are_listed_created_once_and_revoked_on_the_record(
    people: People, corpus: Corpus, api: Callable[..., APIClient]
) -> None:
    admin = api(people.admin)
    both = admin.post("/api/v1/grants", {"user": "bob", "group": "hr", "source": corpus.handbook.pk}, format="json")
    assert both.status_code == 400 and "exactly one of user" in both.json()["message"]
    nobody = admin.post("/api/v1/grants", {"user": "nobody", "document": corpus.memo.pk}, format="json")
    assert "nobody" in nobody.json()["fields"]["user"][0]
    first = admin.post("/api/v1/grants", {"user": "charlie", "document": corpus.memo.pk}, format="json").json()
    again = admin.post("/api/v1/grants", {"user": "charlie", "document": corpus.memo.pk}, format="json").json()
    assert first["id"] == again["id"]
    assert api(people.charlie).get(f"/api/v1/documents/{corpus.memo.pk}").status_code == 200

    listed = admin.get("/api/v1/grants", {"document": corpus.memo.pk}).json()["results"]
    assert {(g["user"], g["document"]) for g in listed} == {("alice", corpus.memo.pk), ("charlie", corpus.memo.pk)}
    assert admin.get("/api/v1/grants", {"group": "hr"}).json()["count"] == 1

    assert admin.delete(f"/api/v1/grants/{first['id']}").status_code == 204
    assert api(people.charlie).get(f"/api/v1/documents/{corpus.memo.pk}").status_code == 404
    removed = PermissionChange.objects.get(action=PermissionChange.Action.GRANT_REMOVED)
    assert removed.changed_by == people.admin and removed.who == "user charlie"
    assert not Grant.objects.filter(pk=first["id"]).exists()


def test_ingestion_status_counts_documents_and_lists_failures(
    people: People, corpus: Corpus, api: Callable[..., APIClient]
) -> None:
    with acting_as_system():
        DocumentFactory.create(source=corpus.handbook, status=Document.Status.FAILED, error="The PDF is encrypted.")
    status = api(people.admin).get("/api/v1/ingestion").json()
    assert status["documents"] == {"pending": 0, "processing": 0, "ready": 3, "failed": 1}
    assert status["recent_failures"][0]["error"] == "The PDF is encrypted."
    assert status["sources_syncing"] == 0
