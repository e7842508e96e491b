"""The admin console's access pages and actions: who can see a document, what a user can see,
grants in bulk and inline, pause and resume, deletion summaries, the chunk preview, the health
dashboard, and the trail of every access change. Staff get none of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db.models import QuerySet
from django.test import Client, TestCase

from accounts.models import PermissionChange, User
from core.rls import acting_as_system
from knowledge.models import Document, Grant, Source, SyncRun
from knowledge.services.ingest import Outcome, document_ingest
from knowledge.services.sources import document_upload, source_ensure, source_sync
from tests.conftest import Corpus, People
from tests.knowledge.helpers import LEAVE_POLICY, folder_source
from tests.worker import wait_for

pytestmark = pytest.mark.django_db

Action = PermissionChange.Action


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def changes_by(user: User) -> QuerySet[PermissionChange]:
    """The trail of one person's changes (the fixtures' own grants are recorded as the system's)."""
    return PermissionChange.objects.filter(changed_by=user).order_by("id")


def chat_page_of(user: User) -> str:
    """The chat page's sidebar lists every document the user can see: what the user would notice."""
    return signed_in(user).get("/").content.decode()


def console_pages(corpus: Corpus, people: People) -> list[str]:
    return [
        f"/admin/knowledge/document/{corpus.salaries.pk}/audience/",
        f"/admin/knowledge/document/{corpus.salaries.pk}/change/",
        f"/admin/knowledge/source/{corpus.handbook.pk}/delete/",
        f"/admin/accounts/user/{people.bob.pk}/access/",
        f"/admin/auth/group/{people.hr.pk}/change/",
        "/admin/accounts/permissionchange/",
        "/admin/health/",
    ]


def test_staff_get_none_of_the_console_pages_or_actions(people: People, corpus: Corpus) -> None:
    client = signed_in(people.alice)
    for url in console_pages(corpus, people):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.post(
        "/admin/knowledge/source/",
        {"action": "revoke_group", "_selected_action": [corpus.handbook.pk], "apply": "1", "group": people.hr.pk},
    )
    client.post("/admin/knowledge/source/", {"action": "pause", "_selected_action": [corpus.handbook.pk]})
    assert Grant.objects.filter(group=people.hr, source=corpus.handbook).exists()
    assert not Source.objects.get(pk=corpus.handbook.pk).paused
    assert "Salary bands" in chat_page_of(people.bob)


def test_knowledge_admins_open_every_console_page(people: People, corpus: Corpus) -> None:
    client = signed_in(people.admin)
    for url in console_pages(corpus, people):
        assert client.get(url).status_code == 200, url


def test_who_can_see_a_document_names_every_user_and_the_grant_behind_each(people: People, corpus: Corpus) -> None:
    page = signed_in(people.admin).get(f"/admin/knowledge/document/{corpus.salaries.pk}/audience/").content.decode()
    assert "3 users can see it" in page  # alice, bob, and the admin
    assert "group hr" in page and "user alice" in page
    assert "through the group &#x27;hr&#x27;" in page and "granted the source &#x27;HR handbook&#x27; directly" in page
    assert "knowledge admin" in page
    assert "charlie" not in page
    notice = signed_in(people.admin).get(f"/admin/knowledge/document/{corpus.notice.pk}/audience/").content.decode()
    assert "4 users can see it" in notice and "is visible to all staff" in notice and "charlie" in notice


def test_what_a_user_can_see_lists_sources_and_documents_with_the_reason(people: People, corpus: Corpus) -> None:
    alice = signed_in(people.admin).get(f"/admin/accounts/user/{people.alice.pk}/access/").content.decode()
    assert "<strong>3</strong> documents visible now" in alice
    assert "HR handbook" in alice and "Company notices" in alice and "Board memo" in alice
    bob = signed_in(people.admin).get(f"/admin/accounts/user/{people.bob.pk}/access/").content.decode()
    assert "through the group &#x27;hr&#x27;" in bob and "Board memo" not in bob
    charlie = signed_in(people.admin).get(f"/admin/accounts/user/{people.charlie.pk}/access/").content.decode()
    assert "<strong>1</strong> document visible now" in charlie and "HR handbook" not in charlie


def inline_grant_form(document: Document, *, group_id: int | str = "", user_id: int | str = "") -> dict[str, object]:
    """The document's change form as the browser posts it, with one new grant row."""
    return {
        "title": document.title,
        "grants-TOTAL_FORMS": "1",
        "grants-INITIAL_FORMS": "0",
        "grants-MIN_NUM_FORMS": "0",
        "grants-MAX_NUM_FORMS": "1000",
        "grants-0-group": group_id,
        "grants-0-user": user_id,
        "grants-0-document": document.pk,
    }


def test_a_grant_added_inline_applies_to_the_next_question_and_is_recorded(people: People, corpus: Corpus) -> None:
    assert "Board memo" not in chat_page_of(people.bob)
    url = f"/admin/knowledge/document/{corpus.memo.pk}/change/"
    response = signed_in(people.admin).post(url, inline_grant_form(corpus.memo, group_id=people.hr.pk), follow=True)
    assert "Access changes apply from the next question anyone asks." in response.content.decode()
    assert "Board memo" in chat_page_of(people.bob)
    change = changes_by(people.admin).get()
    assert change.action == Action.GRANT_ADDED
    assert (change.changed_by, change.who) == (people.admin, "group hr")
    assert "Board memo" in change.what
    assert Grant.objects.get(group=people.hr, document=corpus.memo).granted_by == people.admin


def test_an_inline_grant_row_needs_a_user_or_a_group(people: People, corpus: Corpus) -> None:
    url = f"/admin/knowledge/document/{corpus.memo.pk}/change/"
    response = signed_in(people.admin).post(
        url, inline_grant_form(corpus.memo, group_id=people.hr.pk, user_id=people.bob.pk)
    )
    assert response.status_code == 200  # the form comes back with the error, nothing saved
    assert "A grant is for exactly one user or one group." in response.content.decode()
    assert not changes_by(people.admin).exists()


def test_bulk_grant_and_revoke_a_group_on_many_sources(people: People, corpus: Corpus) -> None:
    client = signed_in(people.admin)
    selected = {"_selected_action": [corpus.handbook.pk, corpus.memo.source_id]}
    asked = client.post("/admin/knowledge/source/", {"action": "grant_group", **selected})
    assert "Grant a group access to 2 item(s)" in asked.content.decode()  # the intermediate page asks which group
    done = client.post(
        "/admin/knowledge/source/",
        {"action": "grant_group", "apply": "1", "group": people.hr.pk, **selected},
        follow=True,
    )
    assert "1 grant(s) granted for group hr" in done.content.decode()  # hr already had the handbook
    assert "Board memo" in chat_page_of(people.bob)
    client.post("/admin/knowledge/source/", {"action": "revoke_group", "apply": "1", "group": people.hr.pk, **selected})
    bob = chat_page_of(people.bob)
    assert "Board memo" not in bob and "Salary bands" not in bob
    actions = list(changes_by(people.admin).values_list("action", flat=True))
    assert actions == [Action.GRANT_ADDED, Action.GRANT_REMOVED, Action.GRANT_REMOVED]


def test_the_all_staff_flag_and_group_membership_changes_are_recorded(people: People, corpus: Corpus) -> None:
    client = signed_in(people.admin)
    client.post(
        f"/admin/knowledge/document/{corpus.memo.pk}/change/",
        {**inline_grant_form(corpus.memo), "visible_to_all_staff": "on", "grants-TOTAL_FORMS": "0"},
    )
    assert "Board memo" in chat_page_of(people.charlie)
    membership = {
        "name": "hr",
        "User_groups-TOTAL_FORMS": "1",
        "User_groups-INITIAL_FORMS": "0",
        "User_groups-0-user": people.charlie.pk,
        "User_groups-0-group": people.hr.pk,
    }
    client.post(f"/admin/auth/group/{people.hr.pk}/change/", membership)
    assert "Salary bands" in chat_page_of(people.charlie)
    trail = {(c.action, c.who, c.what.split(" (")[0]) for c in changes_by(people.admin)}
    assert trail == {
        (Action.ALL_STAFF_ON, "all staff", "document 'Board memo'"),
        (Action.MEMBER_ADDED, "user charlie", "group hr"),
    }


def test_deactivating_a_user_hides_everything_from_them_and_is_recorded(people: People, corpus: Corpus) -> None:
    signed_in(people.admin).post(
        "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [people.bob.pk, people.admin.pk]}
    )
    assert not User.objects.get(pk=people.bob.pk).is_active
    assert User.objects.get(pk=people.admin.pk).is_active  # never yourself
    assert changes_by(people.admin).get().action == Action.USER_DEACTIVATED
    response = signed_in(people.bob).get("/")
    assert response.status_code == 302  # signed out: a deactivated user has no session


def test_the_trail_cannot_be_edited_or_deleted_from_the_console(people: People, corpus: Corpus) -> None:
    client = signed_in(people.admin)
    client.post(
        "/admin/knowledge/source/",
        {"action": "revoke_group", "apply": "1", "group": people.hr.pk, "_selected_action": [corpus.handbook.pk]},
    )
    change = changes_by(people.admin).get()
    assert client.get(f"/admin/accounts/permissionchange/{change.pk}/delete/").status_code == 403
    assert client.post(f"/admin/accounts/permissionchange/{change.pk}/change/", {"who": "nobody"}).status_code == 403
    assert "group hr" in client.get("/admin/accounts/permissionchange/").content.decode()


def test_deleting_a_source_confirms_with_counts_not_a_list_of_every_chunk(people: People, corpus: Corpus) -> None:
    client = signed_in(people.admin)
    page = client.get(f"/admin/knowledge/source/{corpus.handbook.pk}/delete/").content.decode()
    assert "Source: HR handbook" in page
    assert "1 documents" in page and "3 chunks" in page and "2 grants" in page
    assert "Chunk:" not in page
    client.post(f"/admin/knowledge/source/{corpus.handbook.pk}/delete/", {"post": "yes"})
    with acting_as_system():
        assert not Document.objects.filter(pk=corpus.salaries.pk).exists()
    assert "Salary bands" not in chat_page_of(people.alice)


def test_a_paused_source_is_not_synced_and_its_waiting_documents_wait(
    people: People, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    (tmp_path / "leave.md").write_text(LEAVE_POLICY)
    source = folder_source(tmp_path)
    run = source_sync(source_id=source.pk, enqueue=False)
    client = signed_in(people.admin)
    assert 'value="Pause"' in client.get(f"/admin/knowledge/source/{source.pk}/change/").content.decode()
    client.post(
        f"/admin/knowledge/source/{source.pk}/change/",
        {
            "name": source.name,
            "kind": "folder",
            "permissions_from": "grants",
            "config": f'{{"path": "{tmp_path}"}}',
            "grants-TOTAL_FORMS": "0",
            "grants-INITIAL_FORMS": "0",
            "_pause": "Pause",
        },
    )
    with acting_as_system():
        document = Document.objects.get(source=source)
    assert document_ingest(document_id=document.pk, sync_run_id=run.pk).outcome == Outcome.PAUSED
    assert "The source is paused" in source_sync(source_id=source.pk, enqueue=False).error
    listing = client.get("/admin/knowledge/source/").content.decode()
    assert "paused" in listing and "data-sync-running" not in listing
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post("/admin/knowledge/source/", {"action": "resume", "_selected_action": [source.pk]})
    assert len(queued) == 1  # a sync, which queues the waiting document again
    assert SyncRun.objects.get(pk=run.pk).finished_at is not None
    assert document_ingest(document_id=document.pk).outcome == Outcome.INGESTED


def test_the_document_page_previews_its_chunks(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        first = corpus.salaries.chunks.order_by("ordinal").first()
    assert first is not None
    page = signed_in(people.admin).get(f"/admin/knowledge/document/{corpus.salaries.pk}/change/").content.decode()
    assert "chunk-preview" in page and first.text in page


def test_the_health_dashboard_counts_and_says_what_is_down(people: People, corpus: Corpus) -> None:
    page = signed_in(people.admin).get("/admin/health/").content.decode()
    assert "PostgreSQL with pgvector" in page
    assert "task(s) waiting" in page
    assert "<th>Workers</th>" in page
    assert "embedding: multilingual-e5-small" in page and "generation: smollm2-135m" in page
    assert "<th>Chunks</th><td>5</td>" in page


def test_a_deleted_upload_does_not_come_back_with_the_next_sync(people: People, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOADS_DIR = tmp_path
    with acting_as_system():
        source = source_ensure(name="Uploads")
        document = document_upload(source=source, filename="leave.md", data=LEAVE_POLICY.encode())
    client = signed_in(people.admin)
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/admin/knowledge/document/{document.pk}/delete/", {"post": "yes"})
    assert not (tmp_path / str(source.pk) / "leave.md").exists()
    assert source_sync(source_id=source.pk, enqueue=False).documents_total == 0
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/admin/knowledge/source/{source.pk}/delete/", {"post": "yes"})
    assert not (tmp_path / str(source.pk)).exists() and not Source.objects.filter(pk=source.pk).exists()


def test_the_health_dashboard_says_when_the_broker_is_down(people: People, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from config.celery import app

    monkeypatch.setitem(app.conf, "broker_url", "redis+socket:///nonexistent/broker.sock")
    monkeypatch.setitem(app.conf, "broker_read_url", None)
    page = signed_in(people.admin).get("/admin/health/").content.decode()
    assert "PROBLEM" in page and "broker unreachable" in page


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_the_health_dashboard_lists_a_running_worker(people: People, worker) -> None:  # type: ignore[no-untyped-def]
    wait_for(lambda: "alive: celery@" in signed_in(people.admin).get("/admin/health/").content.decode(), 60, "a ping")


NO_GRANT_ROWS = {"grants-TOTAL_FORMS": "0", "grants-INITIAL_FORMS": "0"}


def test_a_source_added_in_the_console_goes_through_source_create(
    people: People, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    form = {
        "name": "Leave policies",
        "kind": "folder",
        "permissions_from": "grants",
        "config": f'{{"path": "{tmp_path}"}}',
        "visible_to_all_staff": "on",
        "grants-TOTAL_FORMS": "1",
        "grants-INITIAL_FORMS": "0",
        "grants-0-group": people.hr.pk,
    }
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = signed_in(people.admin).post("/admin/knowledge/source/add/", form, follow=True)
    assert "was added successfully" in response.content.decode()
    assert len(queued) == 1  # its first sync, once
    source = Source.objects.get(name="Leave policies")
    assert source.created_by == people.admin and source.visible_to_all_staff
    assert Grant.objects.get(source=source).group == people.hr
    assert [(c.action, c.who, c.what) for c in changes_by(people.admin)] == [
        (Action.ALL_STAFF_ON, "all staff", "source 'Leave policies'"),
        (Action.GRANT_ADDED, "group hr", "source 'Leave policies'"),
    ]


def test_a_source_changed_in_the_console_goes_through_source_update(people: People, corpus: Corpus) -> None:
    form = {
        "name": "Notices",
        "kind": "upload",
        "config": "{}",
        "permissions_from": "grants",
        **NO_GRANT_ROWS,
    }  # "all staff" unticked
    response = signed_in(people.admin).post(f"/admin/knowledge/source/{corpus.notices.pk}/change/", form, follow=True)
    assert "Access changes apply from the next question anyone asks." in response.content.decode()
    notices = Source.objects.get(pk=corpus.notices.pk)
    assert notices.name == "Notices" and not notices.visible_to_all_staff
    assert "Office closed Friday" not in chat_page_of(people.charlie)
    assert [(c.action, c.what) for c in changes_by(people.admin)] == [(Action.ALL_STAFF_OFF, "source 'Notices'")]


def test_a_document_added_in_the_console_goes_through_document_create(people: People, corpus: Corpus) -> None:
    form = {"title": "Fire drill", "source": corpus.notices.pk, "visible_to_all_staff": "on", **NO_GRANT_ROWS}
    response = signed_in(people.admin).post("/admin/knowledge/document/add/", form, follow=True)
    assert "was added successfully" in response.content.decode()
    with acting_as_system():
        document = Document.objects.get(title="Fire drill")
    assert document.source == corpus.notices and document.visible_to_all_staff
    assert [(c.action, c.what.split(" (")[0]) for c in changes_by(people.admin)] == [
        (Action.ALL_STAFF_ON, "document 'Fire drill'")
    ]
