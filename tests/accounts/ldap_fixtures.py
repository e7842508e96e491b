"""Fixtures shared by the directory tests: a real slapd with the company in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounts.ldap_server import (
    GROUPS,
    PEOPLE,
    SEARCH_DN,
    SEARCH_PASSWORD,
    Slapd,
    TlsFiles,
    slapd_start,
    tls_files_make,
)

LOCAL_AND_LDAP = ["accounts.backends.LocalPasswordBackend", "accounts.ldap.LDAPDirectoryBackend"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files_make(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def directory(tmp_path: Path, tls: TlsFiles, settings) -> Iterator[Slapd]:  # type: ignore[no-untyped-def]
    """A fresh slapd with the company in it, and Enclave configured to sign in against it."""
    server = slapd_start(tmp_path / "slapd", tls)
    settings.AUTHENTICATION_BACKENDS = LOCAL_AND_LDAP
    settings.ENCLAVE_LDAP_URL = server.url
    settings.ENCLAVE_LDAP_START_TLS = False
    settings.ENCLAVE_LDAP_CA_FILE = ""
    settings.ENCLAVE_LDAP_TLS_VERIFY = True
    settings.ENCLAVE_LDAP_TIMEOUT_SECONDS = 5
    settings.ENCLAVE_LDAP_BIND_DN = SEARCH_DN
    settings.ENCLAVE_LDAP_BIND_PASSWORD = SEARCH_PASSWORD
    settings.ENCLAVE_LDAP_USER_SEARCH_BASE = PEOPLE
    settings.ENCLAVE_LDAP_USER_FILTER = "(uid=%(user)s)"
    settings.ENCLAVE_LDAP_GROUP_SEARCH_BASE = GROUPS
    settings.ENCLAVE_LDAP_GROUP_TYPE = "member"
    settings.ENCLAVE_LDAP_GROUP_FILTER = "(objectClass=groupOfNames)"
    settings.ENCLAVE_LDAP_GROUPS = ["*"]
    settings.ENCLAVE_LDAP_ADMIN_GROUPS = []
    yield server
    server.stop()
