"""How the single sign-on settings read a provider's claims, what the sign-in page offers with and
without them, and ENCLAVE_LOCAL_PASSWORDS: staff lose the password way in, the break-glass
administrators keep it. (The sign-in itself, against a real provider, is in tests/identity/.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.claims import GroupFilter
from accounts.directory import directory_person_sync
from accounts.models import Role
from accounts.oidc import SignInRefused, person_from_claims
from tests.config.test_production import django_in_a_process
from tests.conftest import People
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # tests/factories.py
CLAIMS = {
    "sub": "00u1abcd",
    "preferred_username": "dana@example.com",
    "email": "dana@example.com",
    "name": "Dana Scully",
    "groups": ["enclave-hr", "enclave-finance", "Everyone", "badminton"],
}


@pytest.fixture
def sso(settings):  # type: ignore[no-untyped-def]
    settings.ENCLAVE_OIDC_ISSUER = "https://login.example.com"
    settings.ENCLAVE_OIDC_CLIENT_ID = "enclave"
    settings.ENCLAVE_OIDC_PROVIDER_NAME = "Okta"
    return settings


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("all", {"enclave-hr", "enclave-finance", "Everyone", "badminton"}),
        ("prefix:enclave-", {"enclave-hr", "enclave-finance"}),
        ("enclave-hr, badminton", {"enclave-hr", "badminton"}),
        ("none", set()),
    ],
)
def test_the_group_setting_picks_which_of_the_providers_groups_come_in(sso: Any, raw: str, kept: set[str]) -> None:
    sso.ENCLAVE_OIDC_GROUPS = raw
    assert set(person_from_claims(CLAIMS).groups or []) == kept


@pytest.mark.parametrize("raw", ["prefix:", " , ", ""])
def test_a_group_setting_that_names_nothing_is_refused_in_words(raw: str) -> None:
    with pytest.raises(ValueError, match='use "all"'):
        GroupFilter.parse(raw)


def test_the_claims_give_the_username_email_and_name_and_sub_is_the_directory_id(sso: Any) -> None:
    person = person_from_claims(CLAIMS)
    assert (person.external_id, person.username, person.email) == ("00u1abcd", "dana@example.com", "dana@example.com")
    assert (person.first_name, person.last_name) == ("Dana Scully", "")
    both = person_from_claims({**CLAIMS, "given_name": "Dana", "family_name": "Scully"})
    assert (both.first_name, both.last_name) == ("Dana", "Scully")
    sso.ENCLAVE_OIDC_USERNAME_CLAIM = "email"  # Google has no preferred_username
    assert person_from_claims({"sub": "1", "email": "erin@example.com"}).username == "erin@example.com"


def test_a_missing_username_claim_is_refused_naming_the_claim_and_the_setting(sso: Any) -> None:
    with pytest.raises(SignInRefused, match=r"no 'preferred_username' claim.*ENCLAVE_OIDC_USERNAME_CLAIM"):
        person_from_claims({"sub": "1", "email": "erin@example.com"})


def test_a_lone_group_and_a_missing_groups_claim_are_read_as_the_provider_means_them(sso: Any) -> None:
    assert person_from_claims({**CLAIMS, "groups": "hr"}).groups == ["hr"]
    # Okta leaves the claim out when no group passes its filter: the person is in none of them.
    assert person_from_claims({key: value for key, value in CLAIMS.items() if key != "groups"}).groups == []
    sso.ENCLAVE_OIDC_GROUPS_CLAIM = ""  # groups are not taken from the provider at all
    assert person_from_claims(CLAIMS).groups is None


@pytest.mark.django_db
def test_with_no_groups_claim_the_consoles_memberships_stay(sso: Any, people: People) -> None:
    sso.ENCLAVE_OIDC_GROUPS_CLAIM = ""
    user = directory_person_sync(person_from_claims(CLAIMS))
    user.groups.add(people.hr)
    user = directory_person_sync(person_from_claims(CLAIMS))
    assert {group.name for group in user.groups.all()} == {"hr"}


def test_admin_groups_make_and_unmake_knowledge_admins_from_the_groups_or_another_claim(sso: Any) -> None:
    assert person_from_claims(CLAIMS).knowledge_admin is None  # no admin groups: the console decides
    sso.ENCLAVE_OIDC_ADMIN_GROUPS = ["enclave-admins"]
    assert person_from_claims(CLAIMS).knowledge_admin is False
    assert person_from_claims({**CLAIMS, "groups": ["enclave-admins"]}).knowledge_admin is True
    sso.ENCLAVE_OIDC_GROUPS = "prefix:enclave-hr"  # the admin group need not be taken in as a group
    assert person_from_claims({**CLAIMS, "groups": ["enclave-admins"]}).knowledge_admin is True
    sso.ENCLAVE_OIDC_ADMIN_CLAIM = "roles"  # Entra ID app roles
    assert person_from_claims({**CLAIMS, "roles": ["enclave-admins"], "groups": []}).knowledge_admin is True


@pytest.mark.django_db
def test_without_an_issuer_the_sign_in_page_is_as_before_and_the_sso_routes_do_not_exist(people: People) -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in to Enclave" in page and "Sign in with" not in page
    assert Client().get("/accounts/oidc/login/").status_code == 404
    assert Client().get("/accounts/oidc/callback/?code=x&state=y").status_code == 404
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    signed_out = browser.post("/accounts/logout/")
    assert signed_out.status_code == 302 and signed_out["Location"] == "/accounts/login/"
    assert browser.get("/").status_code == 302


@pytest.mark.django_db
def test_the_sign_in_page_offers_the_provider(sso: Any) -> None:
    page = Client().get("/accounts/login/?next=/chat/3").content.decode()
    assert "Sign in with Okta" in page and 'action="/accounts/oidc/login/"' in page
    assert 'name="next" value="/chat/3"' in page
    assert "Or sign in with your Enclave password." in page


@pytest.mark.django_db
def test_the_admin_consoles_sign_in_page_offers_the_provider_too(settings) -> None:  # type: ignore[no-untyped-def]
    assert "Sign in with" not in Client().get("/admin/login/?next=/admin/").content.decode()
    settings.ENCLAVE_OIDC_ISSUER, settings.ENCLAVE_OIDC_PROVIDER_NAME = "https://login.example.com", "Okta"
    page = Client().get("/admin/login/?next=/admin/").content.decode()
    assert 'href="/accounts/oidc/login/?next=/admin/">Sign in with Okta</a>' in page


@pytest.mark.django_db
def test_admins_only_refuses_staff_passwords_and_keeps_the_break_glass_admins(sso: Any, people: People) -> None:
    sso.ENCLAVE_LOCAL_PASSWORDS = "admins-only"
    UserFactory.create(username="root", is_superuser=True)
    refused = Client().post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Everyone else signs in with Okta." in refused.content.decode()
    for admin in ("root", "admin"):  # a superuser, and a local knowledge admin
        signed_in = Client()
        response = signed_in.post("/accounts/login/", {"username": admin, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/"
        assert signed_in.get("/").status_code == 200


@pytest.mark.django_db
def test_a_password_sign_in_never_starts_a_code_exchange(sso: Any, people: People) -> None:
    # Were the OIDC backend to act on ?code=&state= here, it would ask the provider (unreachable: a 500).
    sso.ENCLAVE_OIDC_ISSUER = "http://127.0.0.1:9"
    wrong = Client().post("/accounts/login/?code=stolen&state=forged", {"username": "bob", "password": "wrong"})
    assert wrong.status_code == 200 and "didn't match" in wrong.content.decode()
    right = Client().post("/accounts/login/?code=stolen&state=forged", {"username": "bob", "password": PASSWORD})
    assert right.status_code == 302


@pytest.mark.django_db
def test_admins_only_leaves_the_sessions_of_people_already_signed_in(sso: Any, people: People) -> None:
    browser = Client()
    browser.force_login(people.bob)
    sso.ENCLAVE_LOCAL_PASSWORDS = "admins-only"
    assert browser.get("/").status_code == 200


@pytest.mark.django_db
def test_a_directory_admin_claim_reaches_the_console(sso: Any) -> None:
    sso.ENCLAVE_OIDC_ADMIN_GROUPS = ["enclave-admins"]
    user = directory_person_sync(person_from_claims({**CLAIMS, "groups": ["enclave-admins"]}))
    assert user.role == Role.KNOWLEDGE_ADMIN and user.is_staff
    assert Group.objects.filter(name="enclave-admins").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ENCLAVE_OIDC_GROUPS": "prefix:"}, "ENCLAVE_OIDC_GROUPS='prefix:': 'prefix:' needs the text"),
        ({"ENCLAVE_OIDC_ISSUER": "https://login.example.com"}, "ENCLAVE_OIDC_CLIENT_ID is empty"),
        ({"ENCLAVE_OIDC_ISSUER": "login.example.com", "ENCLAVE_OIDC_CLIENT_ID": "x"}, "must be a URL"),
        (
            {
                "ENCLAVE_OIDC_ISSUER": "https://login.example.com",
                "ENCLAVE_OIDC_CLIENT_ID": "x",
                "ENCLAVE_OIDC_SCOPES": "email",
            },
            "must include openid",
        ),
        ({"ENCLAVE_LOCAL_PASSWORDS": "never"}, "ENCLAVE_LOCAL_PASSWORDS='never' is not one of: all, admins-only"),
    ],
)
def test_a_single_sign_on_setup_that_cannot_work_stops_start_up_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    done = django_in_a_process("print('started')", **env)
    assert done.returncode != 0 and message in done.stderr
