"""The admin console in a real browser, with a real Celery worker: a knowledge admin creates a
folder source, watches it finish (and sees why a file failed), grants a group, sees "who can see
this document" change, revokes, and a member of the group finds the document gone from search."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from core.rls import acting_as_system
from knowledge.models import Document
from tests.browser.conftest import screenshot
from tests.conftest import People
from tests.knowledge.helpers import LEAVE_POLICY

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

PASSWORD = "correct horse battery staple"  # tests/factories.py
INGESTION_SECONDS = 180  # the worker loads the embedding model on its first document


@pytest.fixture
def console(browser: Browser, live_server) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in_to_console(page: Page, username: str) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Knowledge, people and access")).to_be_visible()


def titles_found_by(page: Page, username: str, query: str) -> list[str]:
    """What the search endpoint returns to this user (signed in in their own browser context)."""
    page.goto("/")
    if page.get_by_label("Username").count():
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    response = page.request.get(f"/api/v1/search?q={query}")
    assert response.ok, response.text()
    return sorted({hit["title"] for hit in response.json()["results"]})


def who_can_see(page: Page, document: Document) -> str:
    page.goto(f"/admin/knowledge/document/{document.pk}/audience/")
    return page.get_by_test_id("viewers").inner_text()


def test_an_admin_connects_a_folder_grants_a_group_and_revokes_it(
    console: Page, browser: Browser, live_server, people: People, tmp_path: Path, worker: subprocess.Popen[bytes]
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "leave.md").write_text(LEAVE_POLICY)
    (tmp_path / "empty.txt").write_text("")
    sign_in_to_console(console, "admin")

    console.goto("/admin/knowledge/source/add/")
    console.get_by_label("Name").fill("Leave policies")
    console.get_by_label("Kind").select_option("folder")
    console.get_by_label("Config").fill(json.dumps({"path": str(tmp_path)}))
    console.get_by_role("button", name="Save", exact=True).click()
    expect(console.get_by_text("was added successfully")).to_be_visible()
    # The list reloads itself while the sync runs; the worker ingests one file and fails the other.
    expect(console.get_by_text("2/2 documents, 1 failed")).to_be_visible(timeout=INGESTION_SECONDS * 1000)
    screenshot(console, "admin-source-synced")

    console.goto("/admin/knowledge/document/?status__exact=failed")
    expect(console.get_by_text("The file is empty (0 bytes).")).to_be_visible()
    with acting_as_system():
        leave = Document.objects.get(uri="leave.md")
    assert "bob" not in who_can_see(console, leave)

    bob = browser.new_context(base_url=live_server.url, locale="en-US").new_page()
    assert titles_found_by(bob, "bob", "annual leave") == []

    grant_row(console, leave, group="hr")
    expect(console.get_by_text("Access changes apply from the next question anyone asks.")).to_be_visible()
    viewers = who_can_see(console, leave)
    assert "bob" in viewers and "through the group 'hr'" in viewers
    screenshot(console, "admin-who-can-see")
    assert titles_found_by(bob, "bob", "annual leave") == [leave.title]

    revoke_first_grant(console, leave)
    assert "bob" not in who_can_see(console, leave)
    assert titles_found_by(bob, "bob", "annual leave") == []

    console.goto("/admin/accounts/permissionchange/")
    trail = console.locator("#result_list").inner_text()
    assert "Grant added" in trail and "Grant removed" in trail and "group hr" in trail
    screenshot(console, "admin-access-trail")


def grant_row(page: Page, document: Document, *, group: str) -> None:
    """Grant on the source's page, in the empty inline row, through the group autocomplete."""
    page.goto(f"/admin/knowledge/source/{document.source_id}/change/")
    page.locator("#grants-0 .field-group .select2-selection").click()  # the empty row: no grants yet
    page.locator(".select2-search__field").fill(group)
    page.locator(".select2-results__option", has_text=group).click()
    page.get_by_role("button", name="Save", exact=True).click()


def revoke_first_grant(page: Page, document: Document) -> None:
    page.goto(f"/admin/knowledge/source/{document.source_id}/change/")
    page.locator("#grants-group input[name='grants-0-DELETE']").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Access changes apply from the next question anyone asks.")).to_be_visible()
