"""The console's identity page, against the real servers: which ways in are configured and answer
(the test OIDC provider, a real slapd, or nothing listening), the last SCIM request and its result,
and who comes from where."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.directory import DirectoryPerson, directory_person_sync
from accounts.models import Origin, Role, User
from accounts.oidc import provider_metadata_forget
from accounts.scim.tokens import scim_token_create
from tests.accounts.ldap_server import Slapd
from tests.accounts.scim.conftest import USER_SCHEMA, Scim
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser() -> Client:
    browser = Client()
    browser.force_login(UserFactory.create(username="kim", role=Role.KNOWLEDGE_ADMIN))
    return browser


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def row(page: str, name: str) -> str:
    """The text of the table row headed ``name``, tags stripped."""
    match = re.search(rf"<tr[^>]*><th>{re.escape(name)}</th>(.*?)</tr>", page, re.S)
    assert match, f"no row {name!r} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def identity_page(browser: Client) -> str:
    response = browser.get("/admin/identity/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def no_provider(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_OIDC_ISSUER = ""
    settings.ENCLAVE_LDAP_URL = ""
    yield
    provider_metadata_forget()


def test_staff_are_not_shown_the_identity_page(no_provider: None) -> None:
    browser = Client()
    browser.force_login(UserFactory.create(username="charlie"))
    assert browser.get("/admin/identity/").status_code == 302  # to the console's sign-in


def test_nothing_configured_says_so_for_each_way_in(admin_browser: Client, no_provider: None) -> None:
    page = identity_page(admin_browser)
    assert "not configured (ENCLAVE_OIDC_ISSUER is empty)" in row(page, "Single sign-on (OIDC)")
    assert "not configured (ENCLAVE_LDAP_URL is empty)" in row(page, "LDAP / Active Directory")
    assert "no SCIM token" in row(page, "SCIM provisioning")
    assert "PROBLEM" not in page
    assert "Identity" in admin_browser.get("/admin/").content.decode()  # linked from the console's home


def test_the_test_provider_answers_and_a_provider_that_is_gone_is_a_problem_in_words(
    admin_browser: Client,
    oidc_settings,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.ENCLAVE_LDAP_URL = ""
    assert "OK" in row(identity_page(admin_browser), "Single sign-on (OIDC)")
    settings.ENCLAVE_OIDC_ISSUER = f"http://127.0.0.1:{closed_port()}"
    line = row(identity_page(admin_browser), "Single sign-on (OIDC)")
    assert "PROBLEM" in line and "did not answer (the connection failed)" in line


def test_a_real_directory_answers_and_a_wrong_search_password_names_the_setting(
    admin_browser: Client,
    directory: Slapd,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.ENCLAVE_OIDC_ISSUER = ""
    line = row(identity_page(admin_browser), "LDAP / Active Directory")
    assert "OK" in line and f"{directory.url} answers" in line
    settings.ENCLAVE_LDAP_BIND_PASSWORD = "not-the-password"
    line = row(identity_page(admin_browser), "LDAP / Active Directory")
    assert "PROBLEM" in line and "check ENCLAVE_LDAP_BIND_PASSWORD" in line
    directory.stop()
    line = row(identity_page(admin_browser), "LDAP / Active Directory")
    assert "PROBLEM" in line and "cannot be reached" in line


def test_the_last_scim_request_and_its_result_are_shown(admin_browser: Client, no_provider: None) -> None:
    assert "none yet" in row(identity_page(admin_browser), "Last request")
    scim = Scim(scim_token_create(name="okta").secret)
    created = scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "zoe@example.com", "active": True})
    assert created.status == 201
    page = identity_page(admin_browser)
    assert "POST /scim/v2/Users" in row(page, "Last request") and "okta" in row(page, "Last request")
    assert row(page, "Its result").startswith("201")
    refused = scim.post("Users", {"schemas": [USER_SCHEMA]})  # no userName
    assert refused.status == 400
    page = identity_page(admin_browser)
    assert row(page, "Its result").startswith("400") and "PROBLEM" not in row(page, "SCIM provisioning")
    assert "1 active" in row(page, "Tokens")


def test_users_and_groups_are_counted_by_where_they_come_from(admin_browser: Client, no_provider: None) -> None:
    for name, groups in (("ann", ["finance"]), ("ben", ["finance", "legal"])):
        directory_person_sync(DirectoryPerson(origin=Origin.LDAP, external_id=name, username=name, groups=groups))
    User.objects.filter(username="ben").update(is_active=False)
    Group.objects.create(name="handbook-editors")
    page = identity_page(admin_browser)
    ldap_row = re.search(r'<tr data-origin="ldap">(.*?)</tr>', page, re.S)
    assert ldap_row
    assert [int(n) for n in re.findall(r">(\d+)<", ldap_row.group(1))] == [1, 1, 2]
    local_row = re.search(r'<tr data-origin="local">(.*?)</tr>', page, re.S)
    assert local_row
    assert [int(n) for n in re.findall(r">(\d+)<", local_row.group(1))] == [1, 0, 1]  # kim; handbook-editors
