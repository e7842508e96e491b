"""The SCIM client's bearer tokens: creating, revoking, recognising one, and noting its last request.

A token reads ``scim_<43 random url-safe characters>``; only its sha256 is kept (accounts/tokens.py
says why a fast hash is enough), so it is shown once, when created. It acts as the directory, not
as a user: nothing but the SCIM endpoint accepts it, and no API token is accepted there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ScimToken, User
from accounts.tokens import token_hash
from core.errors import EnclaveError

SCIM_TOKEN_PREFIX = "scim_"  # noqa: S105 - a marker for secret scanners, not a secret
SHOWN_PREFIX_CHARS = 13  # "scim_" and 8 random characters


class ScimTokenError(EnclaveError, ValueError):
    """A SCIM token that cannot be created as asked; the message is for the person asking."""


@dataclass(frozen=True)
class IssuedScimToken:
    token: ScimToken
    secret: str  # shown once; never stored


def scim_token_create(*, name: str, acting_user: User | None = None) -> IssuedScimToken:
    """A new token for a directory's SCIM client (``acting_user`` None is the operator at the command line)."""
    if not name.strip():
        raise ScimTokenError("Give the token a name that says which directory uses it, e.g. okta.")
    secret = SCIM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(
        name=name.strip()[:100], prefix=secret[:SHOWN_PREFIX_CHARS], key_hash=token_hash(secret), created_by=acting_user
    )
    return IssuedScimToken(token=token, secret=secret)


def scim_token_revoke(*, token: ScimToken) -> None:
    """From the next request on, the token is refused; the row stays, to show when it was revoked."""
    ScimToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])


def scim_token_authenticate(authorization: str) -> tuple[ScimToken | None, str]:
    """The token an ``Authorization`` header presents, and why it is refused ("" when it is good)."""
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None, "Send the SCIM token as 'Authorization: Bearer <token>' (manage.py scim_token_create makes one)."
    token = ScimToken.objects.filter(key_hash=token_hash(secret.strip())).first()
    if token is None:
        return None, "The SCIM token is not valid."
    if token.revoked_at is not None:
        return token, "The SCIM token has been revoked."
    return token, ""


def scim_request_note(*, token: ScimToken, request: str, status: int, result: str) -> None:
    """Keep the token's last request and how it went (one UPDATE; the console shows the latest)."""
    ScimToken.objects.filter(pk=token.pk).update(
        last_request_at=timezone.now(), last_request=request[:300], last_status=status, last_result=result[:300]
    )


def scim_token_list() -> QuerySet[ScimToken]:
    return ScimToken.objects.all()


def scim_last_request() -> ScimToken | None:
    """The token that made the most recent SCIM request, with it: for the console's identity page."""
    return ScimToken.objects.filter(last_request_at__isnull=False).order_by("-last_request_at").first()
