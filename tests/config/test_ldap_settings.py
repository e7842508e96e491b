"""LDAP sign-in is configured by ENCLAVE_LDAP_* alone: unset, nothing about sign-in changes; set,
the LDAP backend follows the local one, the search account's password may come from a file, and
a setting that cannot work stops start-up with a message that names it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import ldap_filter, ldap_urls

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, config.settings as s; print(json.dumps([s.AUTHENTICATION_BACKENDS, s.ENCLAVE_LDAP_BIND_PASSWORD, "
    "s.ENCLAVE_LDAP_GROUP_SEARCH_BASE, s.ENCLAVE_LDAP_GROUP_FILTER]))"
)


def settings_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("ENCLAVE_LDAP_")}
    variables = {**clean, "SECRET_KEY": "test-only", "ENCLAVE_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=variables, capture_output=True, text=True, timeout=60
    )


def test_without_a_url_only_local_passwords_sign_in(tmp_path: Path) -> None:
    result = settings_with(tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0] == ["accounts.backends.LocalPasswordBackend", "accounts.oidc.OIDCBackend"]


def test_with_a_url_ldap_follows_local_passwords_and_the_secret_comes_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "bind-password"
    secret.write_text("s3cret\n")
    result = settings_with(
        tmp_path,
        ENCLAVE_LDAP_URL="ldaps://dc1.corp.example.com ldaps://dc2.corp.example.com:3269",
        ENCLAVE_LDAP_BIND_PASSWORD_FILE=str(secret),
        ENCLAVE_LDAP_USER_SEARCH_BASE="dc=corp,dc=example,dc=com",
        ENCLAVE_LDAP_GROUP_TYPE="ad-nested",
    )
    assert result.returncode == 0, result.stderr
    backends, password, group_base, group_filter = json.loads(result.stdout)
    assert backends == [
        "accounts.backends.LocalPasswordBackend",
        "accounts.oidc.OIDCBackend",
        "accounts.ldap.LDAPDirectoryBackend",
    ]
    assert (password, group_base, group_filter) == ("s3cret", "dc=corp,dc=example,dc=com", "(objectClass=group)")


PEOPLE = {"ENCLAVE_LDAP_USER_SEARCH_BASE": "ou=people,dc=example,dc=com"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {**PEOPLE, "ENCLAVE_LDAP_URL": "ldaps://dc1.example.com", "ENCLAVE_LDAP_START_TLS": "true"},
            "ENCLAVE_LDAP_START_TLS is for ldap:// URLs",
        ),
        ({"ENCLAVE_LDAP_URL": "ldap://dc1.example.com"}, "ENCLAVE_LDAP_USER_SEARCH_BASE must say where people are"),
        (
            {**PEOPLE, "ENCLAVE_LDAP_URL": "ldap://dc1.example.com", "ENCLAVE_LDAP_CA_FILE": "/nonexistent/ca.pem"},
            "ENCLAVE_LDAP_CA_FILE='/nonexistent/ca.pem' is not a readable file",
        ),
        ({"ENCLAVE_LDAP_GROUP_TYPE": "posix"}, "ENCLAVE_LDAP_GROUP_TYPE='posix' is not one of: member, memberof"),
        ({"ENCLAVE_LDAP_URL": "ldap.example.com"}, "is not an ldap://host or ldaps://host URL"),
    ],
)
def test_a_setting_that_cannot_work_stops_start_up_in_words(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = settings_with(tmp_path, **env)
    assert result.returncode != 0 and message in result.stderr


def test_urls_must_be_ldap_or_ldaps() -> None:
    assert ldap_urls("ENCLAVE_LDAP_URL", " ldap://a.example  ldaps://b.example:636 ") == (
        "ldap://a.example ldaps://b.example:636"
    )
    assert ldap_urls("ENCLAVE_LDAP_URL", "") == ""
    with pytest.raises(ImproperlyConfigured, match=r"'https://a\.example' is not an ldap://host or ldaps://host URL"):
        ldap_urls("ENCLAVE_LDAP_URL", "https://a.example")
    with pytest.raises(ImproperlyConfigured, match="has an invalid port"):
        ldap_urls("ENCLAVE_LDAP_URL", "ldap://a.example:99999")


def test_filters_must_be_balanced_name_the_user_and_escape_percent_signs() -> None:
    assert ldap_filter("F", "(sAMAccountName=%(user)s)", placeholder=True) == "(sAMAccountName=%(user)s)"
    assert ldap_filter("F", "(&(objectClass=group)(cn=50%%))") == "(&(objectClass=group)(cn=50%%))"
    with pytest.raises(ImproperlyConfigured, match="balanced parentheses"):
        ldap_filter("F", "uid=%(user)s", placeholder=True)
    with pytest.raises(ImproperlyConfigured, match="balanced parentheses"):
        ldap_filter("F", "(&(uid=%(user)s)", placeholder=True)
    with pytest.raises(ImproperlyConfigured, match="must contain %\\(user\\)s"):
        ldap_filter("F", "(uid=alice)", placeholder=True)
    with pytest.raises(ImproperlyConfigured, match="write a literal % as %%"):
        ldap_filter("F", "(cn=50%)")
