"""What the console's identity page reports: which ways in are configured and whether their servers
answer now, the last SCIM request and how it went, and how many users and groups each directory owns.

Each check asks its server afresh (never the kept discovery document), answers in words and never
raises, so one provider being down never hides the others. The LDAP and OIDC modules are imported
only when they are configured: a machine without python-ldap's C library can still show the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.db.models import Count, Q

from accounts.models import DirectoryGroup, Origin, ScimToken, User


@dataclass(frozen=True)
class WayIn:
    """One way people sign in or are provisioned: configured at all, and how its server answers."""

    name: str
    configured: bool
    ok: bool
    text: str


@dataclass(frozen=True)
class OriginCount:
    origin: str
    label: str
    active_users: int
    inactive_users: int
    groups: int


@dataclass(frozen=True)
class ScimStatus:
    active_tokens: int
    revoked_tokens: int
    last_request_at: datetime | None
    last_request: str
    last_status: int | None
    last_result: str
    last_token: str


def oidc_way_in() -> WayIn:
    name = "Single sign-on (OIDC)"
    if not settings.ENCLAVE_OIDC_ISSUER:
        return WayIn(name, False, True, "not configured (ENCLAVE_OIDC_ISSUER is empty)")
    from accounts.oidc import ProviderUnavailable, provider_discover

    try:
        document = provider_discover()
    except ProviderUnavailable as exc:
        return WayIn(name, True, False, exc.message)
    return WayIn(
        name,
        True,
        True,
        f"{settings.ENCLAVE_OIDC_ISSUER} answers; sign-in goes to {document['authorization_endpoint']}",
    )


def ldap_way_in() -> WayIn:
    name = "LDAP / Active Directory"
    if not settings.ENCLAVE_LDAP_URL:
        return WayIn(name, False, True, "not configured (ENCLAVE_LDAP_URL is empty)")
    from accounts.ldap import DirectoryUnavailable, directory_check

    try:
        said = directory_check()
    except DirectoryUnavailable as exc:
        return WayIn(name, True, False, exc.detail)
    return WayIn(name, True, True, said)


def scim_way_in(status: ScimStatus) -> WayIn:
    name = "SCIM provisioning"
    if not status.active_tokens:
        return WayIn(name, False, True, "no SCIM token (manage.py scim_token_create, or SCIM tokens in this console)")
    if status.last_request_at is None:
        return WayIn(name, True, True, f"{status.active_tokens} token(s); no request has come yet")
    ok = status.last_status is not None and status.last_status < 500
    return WayIn(name, True, ok, f"last request {status.last_request} answered {status.last_status}")


def scim_status() -> ScimStatus:
    tokens = ScimToken.objects.aggregate(
        active=Count("pk", filter=Q(revoked_at__isnull=True)), revoked=Count("pk", filter=Q(revoked_at__isnull=False))
    )
    last = ScimToken.objects.filter(last_request_at__isnull=False).order_by("-last_request_at").first()
    return ScimStatus(
        active_tokens=tokens["active"],
        revoked_tokens=tokens["revoked"],
        last_request_at=last.last_request_at if last else None,
        last_request=last.last_request if last else "",
        last_status=last.last_status if last else None,
        last_result=last.last_result if last else "",
        last_token=str(last) if last else "",
    )


def origin_counts() -> list[OriginCount]:
    """Users (active and not) and groups by where they come from, every origin listed."""
    active: dict[str, int] = {}
    inactive: dict[str, int] = {}
    for row in User.objects.values("origin").annotate(
        n_active=Count("pk", filter=Q(is_active=True)), n_inactive=Count("pk", filter=Q(is_active=False))
    ):
        active[row["origin"]] = row["n_active"]
        inactive[row["origin"]] = row["n_inactive"]
    groups = {row["origin"]: row["n"] for row in DirectoryGroup.objects.values("origin").annotate(n=Count("pk"))}
    # Groups without a directory mark are Enclave's own.
    groups[Origin.LOCAL] = _local_group_count()
    return [
        OriginCount(
            origin=origin.value,
            label=origin.label,
            active_users=active.get(origin.value, 0),
            inactive_users=inactive.get(origin.value, 0),
            groups=groups.get(origin.value, 0),
        )
        for origin in Origin
    ]


def _local_group_count() -> int:
    return Group.objects.filter(directory__isnull=True).count()
