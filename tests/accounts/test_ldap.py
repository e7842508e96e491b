"""LDAP / Active Directory sign-in against a real OpenLDAP slapd (tests/accounts/ldap_server.py):
the sign-in form creates the directory's user in its groups, nested ones included; a group's
documents follow a membership changed in the directory at the next sign-in; wrong passwords,
deactivated users and a directory that cannot be asked are refused in words, never with a 500,
while the local break-glass admin still signs in; StartTLS and LDAPS work with the right CA file
and say what is wrong with the wrong one."""

from __future__ import annotations

import logging
import socket
import statistics
import time
from pathlib import Path

import ldap
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.test import Client
from django.test.utils import override_settings

from accounts.ldap import InChainGroupType, groups_mapped
from accounts.models import Origin, Role, User
from accounts.services import user_activation_set
from core.rls import acting_as, acting_as_system
from knowledge.selectors.documents import document_list
from knowledge.services.grants import grant_create
from tests.accounts.ldap_fixtures import LOCAL_AND_LDAP
from tests.accounts.ldap_server import (
    BASE,
    GROUPS,
    PASSWORDS,
    PEOPLE,
    SEARCH_DN,
    Slapd,
    group_dn,
    person_dn,
    slapd_start,
)
from tests.factories import ChunkFactory, DocumentFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "Your username and password didn't match"


@pytest.fixture
def architecture(db: None) -> Group:
    """An Enclave group "engineering" with a source granted to it, made before anyone signed in
    through LDAP: the directory's group of the same name adopts it and its grant."""
    engineering = Group.objects.create(name="engineering")
    with acting_as_system():
        source = SourceFactory.create(name="Engineering wiki")
        grant_create(group=engineering, source=source)
        ChunkFactory.create(document=DocumentFactory.create(source=source, title="Architecture notes"))
        notices = SourceFactory.create(name="Notices", visible_to_all_staff=True)
        ChunkFactory.create(document=DocumentFactory.create(source=notices, title="Office closed Friday"))
    return engineering


def sign_in(username: str, password: str | None = None) -> tuple[Client, str, int]:
    """Post the real sign-in form; the browser, the page it lands on and the response's status."""
    browser = Client()
    typed = PASSWORDS.get(username, "") if password is None else password
    response = browser.post("/accounts/login/", {"username": username, "password": typed})
    return browser, response.content.decode(), response.status_code


def visible_titles(user: User) -> set[str]:
    user.refresh_from_db()
    with acting_as(user):
        return {document.title for document in document_list(fetched_by=user)}


def group_names(user: User) -> set[str]:
    return {group.name for group in user.groups.all()}


def test_signing_in_creates_the_directorys_user_in_its_groups_nested_ones_included(
    directory: Slapd, architecture: Group
) -> None:
    browser, _page, status = sign_in("erin")
    assert status == 302
    assert browser.get("/").status_code == 200  # signed in: the chat page, not the sign-in page
    erin = User.objects.get(username="erin")
    assert (erin.origin, erin.email, erin.first_name, erin.last_name) == (
        Origin.LDAP,
        "erin@example.com",
        "Erin",
        "Hannon",
    )
    assert len(erin.external_id) == 36  # slapd's entryUUID, which survives renames and moves
    assert not erin.has_usable_password()
    assert group_names(erin) == {"platform", "engineering"}  # engineering through platform
    assert Group.objects.get(name="engineering").pk == architecture.pk  # adopted, with its grant
    assert visible_titles(erin) == {"Architecture notes", "Office closed Friday"}


def test_a_membership_removed_in_the_directory_takes_the_documents_away_at_the_next_sign_in(
    directory: Slapd, architecture: Group
) -> None:
    sign_in("erin")
    erin = User.objects.get(username="erin")
    assert "Architecture notes" in visible_titles(erin)
    directory.member_remove("engineering", group_dn("platform"))
    _browser, _page, status = sign_in("erin")
    assert status == 302
    assert group_names(erin) == {"platform"}
    assert visible_titles(erin) == {"Office closed Friday"}
    directory.member_add("engineering", person_dn("erin"))  # back, directly this time
    sign_in("erin")
    assert "Architecture notes" in visible_titles(erin)


def test_groups_made_in_enclave_stay_when_the_directory_syncs(directory: Slapd, architecture: Group) -> None:
    sign_in("erin")
    erin = User.objects.get(username="erin")
    erin.groups.add(Group.objects.create(name="project-x"))
    directory.member_add("platform", person_dn("frank"))  # a groupOfNames keeps at least one member
    directory.member_remove("platform", person_dn("erin"))
    sign_in("erin")
    assert group_names(erin) == {"project-x"}


def test_a_wrong_password_or_an_unknown_person_is_refused(directory: Slapd) -> None:
    for username, password in (("erin", "not-her-password"), ("nobody", "whatever"), ("erin", "")):
        browser, page, status = sign_in(username, password)
        assert status == 200 and WRONG_PASSWORD in page
        assert browser.get("/").status_code == 302  # still signed out
    assert not User.objects.filter(username__in=["erin", "nobody"]).exists()


def test_a_deactivated_enclave_user_is_refused_and_signed_out(directory: Slapd) -> None:
    browser, _page, _status = sign_in("erin")
    erin = User.objects.get(username="erin")
    erin.is_active = False
    erin.save(update_fields=["is_active"])  # behind the services' back: the session is still there
    assert browser.get("/").status_code == 302  # the LDAP backend does not keep them signed in
    _browser, page, status = sign_in("erin")
    assert status == 200 and WRONG_PASSWORD in page
    assert authenticate(None, username="erin", password=PASSWORDS["erin"]) is None  # not only the form refuses
    user_activation_set(user=erin, active=True, acting_user=None)
    assert sign_in("erin")[2] == 302


def test_admin_groups_make_knowledge_admins_and_other_groups_are_mapped_by_prefix(
    directory: Slapd, architecture: Group, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_LDAP_ADMIN_GROUPS = ["Knowledge-Admins"]
    settings.ENCLAVE_LDAP_GROUPS = ["eng*"]
    browser, _page, _status = sign_in("dana")
    dana = User.objects.get(username="dana")
    assert dana.role == Role.KNOWLEDGE_ADMIN
    assert browser.get("/admin/").status_code == 200
    assert group_names(dana) == {"engineering"}  # knowledge-admins is not an Enclave group
    sign_in("erin")
    erin = User.objects.get(username="erin")
    assert (erin.role, group_names(erin)) == (Role.STAFF, {"engineering"})  # nested, but platform unmapped
    directory.member_add("knowledge-admins", person_dn("frank"))  # a groupOfNames keeps at least one member
    directory.member_remove("knowledge-admins", person_dn("dana"))
    sign_in("dana")
    dana.refresh_from_db()
    assert dana.role == Role.STAFF


def test_the_memberof_group_type_reads_the_persons_memberof_attribute(directory: Slapd, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_LDAP_GROUP_TYPE = "memberof"
    sign_in("dana")
    sign_in("erin")
    assert group_names(User.objects.get(username="dana")) == {"engineering", "knowledge-admins"}
    # slapd's memberof overlay, like Active Directory's memberOf, names direct groups only.
    assert group_names(User.objects.get(username="erin")) == {"platform"}
    settings.ENCLAVE_LDAP_GROUP_SEARCH_BASE = f"ou=elsewhere,{BASE}"
    sign_in("dana")
    assert group_names(User.objects.get(username="dana")) == set()  # groups outside the base do not count


def test_the_active_directory_in_chain_filter_is_one_search_that_slapd_accepts(directory: Slapd) -> None:
    """slapd does not implement AD's in-chain matching rule (it matches nothing), so this checks
    the filter Enclave sends, and that a real LDAP server parses it; AD itself is not tested here."""
    from django_auth_ldap.config import LDAPSearch

    groups = LDAPSearch(GROUPS, ldap.SCOPE_SUBTREE, "(objectClass=group)", attrlist=["cn"])
    search = InChainGroupType().search_for(person_dn("erin"), groups)
    assert search.filterstr == (
        "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=uid=erin,ou=people,dc=example,dc=com))"
    )
    assert search.execute(directory.admin()) == []  # parsed and run: no FILTER_ERROR


def test_the_break_glass_admin_signs_in_locally_and_is_never_taken_over(directory: Slapd, caplog) -> None:  # type: ignore[no-untyped-def]
    root = UserFactory.create(username="root", is_superuser=True)
    root.set_password("local-break-glass")
    root.save()
    with caplog.at_level(logging.WARNING, logger="accounts.ldap"):
        _browser, page, status = sign_in("root", PASSWORDS["root"])  # the directory's root password
    assert status == 200 and "cannot be matched to an Enclave user" in page
    assert "break-glass account is never taken over" in caplog.text
    root.refresh_from_db()
    assert root.origin == Origin.LOCAL and root.has_usable_password()
    assert sign_in("root", "local-break-glass")[2] == 302


def test_an_unreachable_directory_refuses_in_words_and_local_sign_in_still_works(
    directory: Slapd, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory.create(username="admin", is_superuser=True)
    admin.set_password("local-break-glass")
    admin.save()
    directory.stop()
    settings.ENCLAVE_LDAP_URL = directory.url
    with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
        _browser, page, status = sign_in("erin")
    assert status == 200
    assert "The company directory cannot be reached" in page and "Local accounts still can" in page
    assert f"the LDAP server at {directory.url} cannot be reached" in caplog.text
    assert sign_in("admin", "local-break-glass")[2] == 302


def test_a_directory_that_does_not_answer_is_given_up_on_after_the_timeout(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    """A port that accepts connections and never answers, like a hung server or a firewall's tarpit."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.AUTHENTICATION_BACKENDS = LOCAL_AND_LDAP
        settings.ENCLAVE_LDAP_URL = f"ldap://127.0.0.1:{silent.getsockname()[1]}/"
        settings.ENCLAVE_LDAP_USER_SEARCH_BASE = PEOPLE
        settings.ENCLAVE_LDAP_TIMEOUT_SECONDS = 1
        started = time.perf_counter()
        with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
            _browser, page, status = sign_in("erin")
        waited = time.perf_counter() - started
    assert status == 200 and "The company directory cannot be reached" in page
    assert "cannot be reached" in caplog.text
    assert waited < 5


@pytest.mark.parametrize(
    ("setting", "value", "logged"),
    [
        ("ENCLAVE_LDAP_BIND_PASSWORD", "stale", f"refused the search account ENCLAVE_LDAP_BIND_DN='{SEARCH_DN}'"),
        ("ENCLAVE_LDAP_USER_SEARCH_BASE", f"ou=staff,{BASE}", "check ENCLAVE_LDAP_USER_SEARCH_BASE"),
        ("ENCLAVE_LDAP_GROUP_SEARCH_BASE", f"ou=teams,{BASE}", "a search base does not exist"),
    ],
)
def test_a_misconfigured_directory_is_logged_with_the_setting_to_fix(
    directory: Slapd, settings, caplog, setting: str, value: str, logged: str
) -> None:  # type: ignore[no-untyped-def]
    setattr(settings, setting, value)
    with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
        _browser, page, status = sign_in("erin")
    assert status == 200 and "the server log says why" in page
    assert logged in caplog.text
    assert not User.objects.filter(username="erin").exists()  # no half-read groups were applied


def test_a_person_renamed_in_the_directory_keeps_their_enclave_user(directory: Slapd) -> None:
    sign_in("erin")
    erin = User.objects.get(username="erin")
    directory.admin().rename_s(person_dn("erin"), "uid=erin.hannon")  # slapd keeps the entryUUID
    assert sign_in("erin.hannon", PASSWORDS["erin"])[2] == 302
    erin.refresh_from_db()
    assert erin.username == "erin.hannon" and group_names(erin) == {"platform", "engineering"}


def test_starttls_and_ldaps_sign_in_with_the_servers_ca_file(directory: Slapd, settings) -> None:  # type: ignore[no-untyped-def]
    assert directory.tls is not None
    settings.ENCLAVE_LDAP_CA_FILE = str(directory.tls.cert)
    settings.ENCLAVE_LDAP_START_TLS = True
    assert sign_in("erin")[2] == 302
    settings.ENCLAVE_LDAP_START_TLS = False
    settings.ENCLAVE_LDAP_URL = directory.ldaps_url
    assert sign_in("dana")[2] == 302


@pytest.mark.parametrize("scheme", ["starttls", "ldaps"])
def test_a_certificate_the_ca_file_does_not_trust_is_refused_in_words(
    directory: Slapd, settings, caplog, scheme: str
) -> None:  # type: ignore[no-untyped-def]
    assert directory.tls is not None
    settings.ENCLAVE_LDAP_CA_FILE = str(directory.tls.other_ca)
    settings.ENCLAVE_LDAP_START_TLS = scheme == "starttls"
    settings.ENCLAVE_LDAP_URL = directory.url if scheme == "starttls" else directory.ldaps_url
    with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
        _browser, page, status = sign_in("erin")
    assert status == 200 and "A secure connection to the company directory could not be made" in page
    assert "TLS with" in caplog.text and "check ENCLAVE_LDAP_CA_FILE" in caplog.text
    assert not User.objects.filter(username="erin").exists()
    settings.ENCLAVE_LDAP_TLS_VERIFY = False  # the escape hatch, for a test directory only
    assert sign_in("erin")[2] == 302


def test_starttls_to_a_server_without_tls_is_refused_in_words(
    tmp_path: Path, directory: Slapd, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    plain = slapd_start(tmp_path / "plain", tls=None)
    try:
        settings.ENCLAVE_LDAP_URL = plain.url
        settings.ENCLAVE_LDAP_START_TLS = True
        with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
            _browser, page, status = sign_in("erin")
    finally:
        plain.stop()
    assert status == 200 and "A secure connection to the company directory could not be made" in page
    assert "the server offers StartTLS" in caplog.text


def test_with_ldap_off_the_directory_is_never_asked(directory: Slapd) -> None:
    with override_settings(AUTHENTICATION_BACKENDS=["accounts.backends.LocalPasswordBackend"]):
        _browser, page, status = sign_in("erin")
    assert status == 200 and WRONG_PASSWORD in page
    assert not User.objects.filter(username="erin").exists()


def test_sign_in_with_group_sync_takes_well_under_a_second(directory: Slapd, architecture: Group, settings) -> None:  # type: ignore[no-untyped-def]
    # Production's password hasher: the local check must not spend it on a directory's person.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    sign_in("erin")  # the first creates the user and groups; the later ones are the everyday case
    seconds = []
    for _ in range(5):
        started = time.perf_counter()
        assert sign_in("erin")[2] == 302
        seconds.append(time.perf_counter() - started)
    assert statistics.median(seconds) < 0.5


def test_group_mapping_takes_names_and_prefixes_in_any_case() -> None:
    names = ["Engineering", "eng-platform", "HR", "finance", "x" * 151]
    assert groups_mapped(names, ["*"]) == ["Engineering", "eng-platform", "HR", "finance"]
    assert groups_mapped(names, ["ENG*", "hr"]) == ["Engineering", "eng-platform", "HR"]
    assert groups_mapped(names, []) == []
