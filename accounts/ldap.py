"""Sign-in through the company's LDAP directory or Active Directory (django-auth-ldap on python-ldap).

django-auth-ldap does the LDAP part: it finds the person with the search account, checks their
password by binding as them, and reads their groups with one of its group types. What that means
in Enclave is decided in accounts/directory.py: the person and their group names become a
``DirectoryPerson``, and ``directory_person_sync`` creates or updates the user and brings their
LDAP groups in line, recorded with the directory as the actor. django-auth-ldap's own user
population, group mirroring and flags are switched off, so there is one way in.

At a sign-in:
- an unknown person or a wrong password is refused like a wrong local password;
- a directory that cannot be asked (unreachable, TLS fails, the search account is refused) refuses
  the sign-in: the log says exactly why, the sign-in page that the directory is unavailable, and
  local accounts still sign in (their passwords are checked first, without the directory);
- a deactivated Enclave user stays out: a sign-in never re-activates anyone;
- the break-glass superuser is never taken over (directory_person_sync refuses; logged).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import ldap
import ldap.dn
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_auth_ldap.backend import LDAPBackend, ldap_error
from django_auth_ldap.config import (
    LDAPGroupType,
    LDAPSearch,
    LDAPSettings,
    MemberDNGroupType,
    NestedGroupOfNamesType,
)

from accounts.directory import DirectoryConflict, DirectoryPerson, directory_person_sync
from accounts.models import Origin, User
from accounts.sign_in import sign_in_problem_note

log = logging.getLogger(__name__)

# Asked for by name: memberOf and the stable ids are operational attributes, which "*" leaves out.
USER_ATTRIBUTES = ["uid", "sAMAccountName", "mail", "givenName", "sn", "memberOf", "entryUUID", "objectGUID"]
GROUP_NAME_ATTRIBUTE = "cn"
# Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: the domain controller follows nesting itself.
IN_CHAIN = "1.2.840.113556.1.4.1941"
NAME_MAX_LENGTH = 150  # Django's Group.name and User.first_name / last_name

UNREACHABLE = _(
    "The company directory cannot be reached, so directory accounts cannot sign in right now. Local accounts still can."
)
TLS_FAILED = _(
    "A secure connection to the company directory could not be made, so directory accounts cannot "
    "sign in right now. Local accounts still can."
)
MISCONFIGURED = _(
    "Sign-in through the company directory is not working right now; the server log says why. "
    "Local accounts still can sign in."
)
NOT_MATCHED = _("This directory account cannot be matched to an Enclave user; the server log says why.")


class MemberOfGroupType(LDAPGroupType):
    """The groups the person's own memberOf attribute names (Active Directory, OpenLDAP's memberof
    overlay): no group search at all. A group's name is its DN's first value (cn=hr,... is "hr"),
    and only groups under the group search base count; the group filter is not applied."""

    def user_groups(self, ldap_user: Any, group_search: LDAPSearch) -> list[tuple[str, dict[str, list[str]]]]:
        groups = []
        for dn in (ldap_user.attrs or {}).get("memberOf", []):
            if not _is_below(dn, group_search.base_dn):
                continue
            attribute, value, _flags = ldap.dn.str2dn(dn)[0][0]
            if attribute.lower() == self.name_attr.lower():
                groups.append((dn.lower(), {self.name_attr: [value]}))
        return groups


class InChainGroupType(MemberDNGroupType):
    """Active Directory's nested groups in one search: member:1.2.840.113556.1.4.1941:=<person's DN>
    matches every group the person is in directly or through any depth of nesting."""

    def __init__(self, name_attr: str = GROUP_NAME_ATTRIBUTE) -> None:
        super().__init__(f"member:{IN_CHAIN}:", name_attr)

    def search_for(self, user_dn: str, group_search: LDAPSearch) -> LDAPSearch:
        return group_search.search_with_additional_terms({self.member_attr: user_dn})

    def user_groups(self, ldap_user: Any, group_search: LDAPSearch) -> list[tuple[str, dict[str, list[str]]]]:
        return list(self.search_for(ldap_user.dn, group_search).execute(ldap_user.connection))

    def is_member(self, ldap_user: Any, group_dn: str) -> None:
        return None  # a compare cannot use a matching rule: the caller reads user_groups instead


GROUP_TYPES: dict[str, type[LDAPGroupType]] = {
    "member": NestedGroupOfNamesType,
    "memberof": MemberOfGroupType,
    "ad-nested": InChainGroupType,
}


def auth_ldap_settings() -> dict[str, Any]:
    """django-auth-ldap's configuration, made from Enclave's ENCLAVE_LDAP_* settings."""
    return {
        "SERVER_URI": settings.ENCLAVE_LDAP_URL,
        "START_TLS": settings.ENCLAVE_LDAP_START_TLS,
        "BIND_DN": settings.ENCLAVE_LDAP_BIND_DN,
        "BIND_PASSWORD": settings.ENCLAVE_LDAP_BIND_PASSWORD,
        "CONNECTION_OPTIONS": _connection_options(),
        "USER_SEARCH": LDAPSearch(
            settings.ENCLAVE_LDAP_USER_SEARCH_BASE,
            ldap.SCOPE_SUBTREE,
            settings.ENCLAVE_LDAP_USER_FILTER,
            attrlist=USER_ATTRIBUTES,
        ),
        # Only the name: a group's member list can hold thousands of DNs that no one reads here.
        "GROUP_SEARCH": LDAPSearch(
            settings.ENCLAVE_LDAP_GROUP_SEARCH_BASE,
            ldap.SCOPE_SUBTREE,
            settings.ENCLAVE_LDAP_GROUP_FILTER,
            attrlist=[GROUP_NAME_ATTRIBUTE],
        ),
        "GROUP_TYPE": GROUP_TYPES[settings.ENCLAVE_LDAP_GROUP_TYPE](name_attr=GROUP_NAME_ATTRIBUTE),
        # One way in: accounts/directory.py writes users and groups; django-auth-ldap only reads.
        "ALWAYS_UPDATE_USER": False,
        "USER_ATTR_MAP": {},
        "USER_FLAGS_BY_GROUP": {},
        "MIRROR_GROUPS": None,
        "MIRROR_GROUPS_EXCEPT": None,
        "FIND_GROUP_PERMS": False,
        "CACHE_TIMEOUT": 0,  # groups are read fresh at every sign-in: that is when they apply
    }


def _connection_options() -> dict[int, Any]:
    timeout = settings.ENCLAVE_LDAP_TIMEOUT_SECONDS
    verify = ldap.OPT_X_TLS_DEMAND if settings.ENCLAVE_LDAP_TLS_VERIFY else ldap.OPT_X_TLS_NEVER
    options: dict[int, Any] = {
        # A server that does not answer must not hold the sign-in page for minutes.
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        # Active Directory answers searches with referrals that libldap would follow anonymously.
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_X_TLS_REQUIRE_CERT: verify,
    }
    if settings.ENCLAVE_LDAP_CA_FILE:
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.ENCLAVE_LDAP_CA_FILE
    # Last: libldap applies the TLS options above to this connection only when a new context is made.
    options[ldap.OPT_X_TLS_NEWCTX] = 0
    return options


class DirectoryUnavailable(Exception):
    """The directory could not be asked: ``detail`` for the log, ``page_message`` for the person."""

    def __init__(self, detail: str, page_message: str | Promise) -> None:
        super().__init__(detail)
        self.detail = detail
        self.page_message = page_message


class LDAPDirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend, with Enclave's settings and accounts/directory.py as the one
    writer of users and groups."""

    _settings: LDAPSettings | None = None

    @property
    def settings(self) -> LDAPSettings:
        # Read per backend instance (Django makes one per sign-in), so changed settings apply.
        if self._settings is None:
            self._settings = LDAPSettings(self.settings_prefix, auth_ldap_settings())
        return self._settings

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        try:
            user: User | None = super().authenticate(request, username=username, password=password, **kwargs)
        except DirectoryUnavailable as problem:
            log.error("LDAP sign-in of %r refused: %s", username, problem.detail)
            sign_in_problem_note(request, problem.page_message)
            return None
        except DirectoryConflict as conflict:
            log.warning("LDAP sign-in of %r refused: %s", username, conflict.message)
            sign_in_problem_note(request, NOT_MATCHED)
            return None
        if user is not None and not user.is_active:
            log.info("LDAP sign-in of %r refused: the Enclave user is deactivated", username)
            return None
        return user

    def get_user(self, user_id: int) -> User | None:
        # Unlike Django's ModelBackend, django-auth-ldap's would keep a deactivated user signed in.
        user: User | None = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        """django-auth-ldap's hook for the user: here, what directory_person_sync makes of them."""
        return directory_person_sync(ldap_person(username, ldap_user)), False


def ldap_person(username: str, ldap_user: Any) -> DirectoryPerson:
    """The person django-auth-ldap found and authenticated, as accounts/directory.py takes people."""
    attrs = ldap_user.attrs or {}
    names = sorted(name for name in ldap_user.group_names if name)
    admin_groups = settings.ENCLAVE_LDAP_ADMIN_GROUPS
    return DirectoryPerson(
        origin=Origin.LDAP,
        external_id=_stable_id(ldap_user.dn, attrs),
        username=username.lower(),
        email=_first(attrs, "mail"),
        first_name=_first(attrs, "givenName")[:NAME_MAX_LENGTH],
        last_name=_first(attrs, "sn")[:NAME_MAX_LENGTH],
        groups=groups_mapped(names, settings.ENCLAVE_LDAP_GROUPS),
        knowledge_admin=bool(_folded(names) & _folded(admin_groups)) if admin_groups else None,
    )


def groups_mapped(names: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The directory groups that become Enclave groups: those named in ``patterns`` (any case), or
    starting with one of its prefixes that end in "*"; "*" takes them all."""
    exact = _folded(pattern for pattern in patterns if not pattern.endswith("*"))
    prefixes = tuple(pattern[:-1].casefold() for pattern in patterns if pattern.endswith("*"))
    mapped = []
    for name in names:
        if name.casefold() not in exact and not name.casefold().startswith(prefixes):
            continue
        if len(name) > NAME_MAX_LENGTH:
            log.warning("LDAP group %r is left out: Enclave's group names have at most 150 characters", name)
            continue
        mapped.append(name)
    return mapped


def _stable_id(dn: str, attrs: Any) -> str:
    """entryUUID (OpenLDAP) or objectGUID (Active Directory) survive renames and moves; else the DN."""
    if entry_uuid := _first(attrs, "entryUUID"):
        return entry_uuid
    if guid := (attrs.get("objectGUID") or [None])[0]:
        # Binary; django-auth-ldap decodes values as UTF-8 when they happen to be valid UTF-8.
        raw = guid.encode() if isinstance(guid, str) else guid
        if len(raw) == 16:
            return str(uuid.UUID(bytes_le=raw))
    return dn.lower()


def _first(attrs: Any, name: str) -> str:
    values = attrs.get(name) or [""]
    return values[0] if isinstance(values[0], str) else ""


def _folded(names: Iterable[str]) -> set[str]:
    return {name.casefold() for name in names}


def _is_below(dn: str, base: str) -> bool:
    """Whether ``dn`` is an entry under ``base`` (any depth), compared without regard to case."""
    entry, top = _dn_parts(dn), _dn_parts(base)
    return len(entry) > len(top) and entry[len(entry) - len(top) :] == top


def _dn_parts(dn: str) -> list[list[tuple[str, str]]]:
    return [[(attribute.lower(), value.lower()) for attribute, value, _flags in rdn] for rdn in ldap.dn.str2dn(dn)]


@receiver(ldap_error, sender=LDAPDirectoryBackend)
def _directory_unavailable(sender: type, context: str, exception: ldap.LDAPError, **kwargs: Any) -> None:
    """django-auth-ldap logs an LDAP error and treats it as a wrong password; raising here (its
    documented way out) lets the backend refuse the sign-in with the reason in words instead."""
    raise directory_unavailable(exception)


def directory_unavailable(error: ldap.LDAPError) -> DirectoryUnavailable:
    """What an LDAP error means for whoever runs Enclave, with the setting to look at."""
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    said = "; ".join(str(info[key]) for key in ("desc", "info") if info.get(key)) or type(error).__name__
    urls = settings.ENCLAVE_LDAP_URL
    tls_refused = isinstance(error, ldap.CONNECT_ERROR) or (settings.ENCLAVE_LDAP_START_TLS and _is_tls_refusal(error))
    if isinstance(error, ldap.SERVER_DOWN | ldap.TIMEOUT):
        # libldap says "can't contact" for an ldaps:// server whose certificate it refused, too.
        if not any(url.startswith("ldaps://") and _tcp_reachable(url) for url in urls.split()):
            return DirectoryUnavailable(f"the LDAP server at {urls} cannot be reached ({said})", UNREACHABLE)
        tls_refused = True
    if tls_refused:
        return DirectoryUnavailable(
            f"TLS with {urls} failed ({said}); check ENCLAVE_LDAP_CA_FILE and ENCLAVE_LDAP_TLS_VERIFY, that the "
            "server's certificate names the host in ENCLAVE_LDAP_URL, and that the server offers StartTLS "
            "(ENCLAVE_LDAP_START_TLS) or LDAPS (ldaps://)",
            TLS_FAILED,
        )
    if isinstance(error, ldap.INVALID_CREDENTIALS):
        return DirectoryUnavailable(
            f"{urls} refused the search account ENCLAVE_LDAP_BIND_DN={settings.ENCLAVE_LDAP_BIND_DN!r} ({said}); "
            "check ENCLAVE_LDAP_BIND_PASSWORD",
            MISCONFIGURED,
        )
    if isinstance(error, ldap.NO_SUCH_OBJECT):
        return DirectoryUnavailable(
            f"a search base does not exist on {urls} ({said}); check ENCLAVE_LDAP_USER_SEARCH_BASE and "
            "ENCLAVE_LDAP_GROUP_SEARCH_BASE",
            MISCONFIGURED,
        )
    return DirectoryUnavailable(f"{urls} answered {type(error).__name__} ({said})", MISCONFIGURED)


def directory_check() -> str:
    """Ask the directory what a sign-in asks first: connect (with StartTLS if set), bind as the search
    account, and find the user and group search bases. Says what it saw; DirectoryUnavailable with
    the setting to fix otherwise (the same words a refused sign-in logs)."""
    options = auth_ldap_settings()
    try:
        connection = ldap.initialize(settings.ENCLAVE_LDAP_URL)
        for option, value in options["CONNECTION_OPTIONS"].items():
            connection.set_option(option, value)
        if settings.ENCLAVE_LDAP_START_TLS:
            connection.start_tls_s()
        connection.simple_bind_s(settings.ENCLAVE_LDAP_BIND_DN, settings.ENCLAVE_LDAP_BIND_PASSWORD)
        for base in {settings.ENCLAVE_LDAP_USER_SEARCH_BASE, settings.ENCLAVE_LDAP_GROUP_SEARCH_BASE} - {""}:
            connection.search_s(base, ldap.SCOPE_BASE, attrlist=["1.1"])
        connection.unbind_s()
    except ldap.LDAPError as exc:
        raise directory_unavailable(exc) from exc
    account = settings.ENCLAVE_LDAP_BIND_DN or "an anonymous search"
    tls = " with StartTLS" if settings.ENCLAVE_LDAP_START_TLS else ""
    return f"{settings.ENCLAVE_LDAP_URL} answers{tls}; {account} can search {settings.ENCLAVE_LDAP_USER_SEARCH_BASE}"


def _is_tls_refusal(error: ldap.LDAPError) -> bool:
    # A server without TLS answers the StartTLS request with a protocol or unavailable error.
    return isinstance(error, ldap.PROTOCOL_ERROR | ldap.UNAVAILABLE | ldap.CONFIDENTIALITY_REQUIRED)


def _tcp_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 636), timeout=2).close()
    except OSError:
        return False
    return True
