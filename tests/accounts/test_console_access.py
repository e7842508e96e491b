"""The front door and the admin console: staff sign in and ask; only knowledge admins administer."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from core.rls import acting_as
from knowledge.selectors import source_list
from tests.conftest import Corpus, People

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_signing_in_shows_the_documents_this_person_may_see(people: People, corpus: Corpus) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": "correct horse battery staple"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Salary bands" in page and "Office closed Friday" in page
    assert "Board memo" not in page
    assert "Admin console" not in page


def test_charlie_sees_only_what_all_staff_see(people: People, corpus: Corpus) -> None:
    page = signed_in(people.charlie).get("/").content.decode()
    assert "Office closed Friday" in page
    assert "Salary bands" not in page and "Board memo" not in page


def test_staff_are_kept_out_of_the_admin_console(people: People, corpus: Corpus) -> None:
    client = signed_in(people.alice)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get(f"/admin/knowledge/document/{corpus.salaries.pk}/change/").status_code == 302


def test_knowledge_admins_manage_documents_and_grants(people: People, corpus: Corpus) -> None:
    client = signed_in(people.admin)
    assert "Admin console" in client.get("/").content.decode()
    listing = client.get("/admin/knowledge/document/").content.decode()
    assert "Salary bands" in listing and "Board memo" in listing
    assert client.get(f"/admin/knowledge/source/{corpus.handbook.pk}/change/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "Sign in" in Client().get("/accounts/login/").content.decode()


def test_demo_setup_creates_the_demo_people_and_can_run_twice(db: None, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    for _ in range(2):
        out = io.StringIO()
        call_command("demo_setup", stdout=out)
    passwords = dict(line.split(" ", 1) for line in (tmp_path / "demo-users.txt").read_text().splitlines())
    assert set(passwords) == {"admin", "alice", "bob", "charlie"}
    assert passwords["alice"] in out.getvalue()
    assert "HR handbook: 3 unchanged" in out.getvalue()  # the second run found nothing new
    bob = User.objects.get(username="bob")
    assert bob.check_password(passwords["bob"])
    seen = {}
    for name in ("alice", "bob", "charlie", "admin"):
        user = User.objects.get(username=name)
        with acting_as(user):
            seen[name] = {s.name for s in source_list(fetched_by=user)}
    assert seen["alice"] == {"HR handbook", "Finance policies", "Company notices"}
    assert seen["bob"] == {"HR handbook", "Company notices"}
    assert seen["charlie"] == {"Company notices"}
    assert len(seen["admin"]) == 4
