"""Personal API tokens: creating, revoking, listing, and recognising one in a request.

A token reads ``enc_<43 random url-safe characters>``. Only its sha256 is kept; the token itself is
returned once, by ``token_create``, for its owner to copy.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken, Scope, User
from core.errors import EnclaveError
from core.shortcuts import get_visible_or_404

TOKEN_PREFIX = "enc_"  # noqa: S105 - a marker for secret scanners, not a secret
SHOWN_PREFIX_CHARS = 12  # "enc_" and 8 random characters: enough to tell a user's tokens apart
# last_used_at is written at most this often per token, so a busy integration does not turn every
# request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(EnclaveError, ValueError):
    """A token that cannot be created as asked; the message is for the person asking."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; never stored


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    acting_user: User | None = None,
    created_with: ApiToken | None = None,
) -> IssuedToken:
    """A new token for ``user``. Users create their own; knowledge admins may create anyone's
    (``acting_user`` is who asks; None is the operator at the command line, who may too).

    The ``admin`` scope is only for knowledge admins' tokens: on anyone else's it would do nothing
    today and, worse, start working the day they were promoted. A token used to create another
    (``created_with``) cannot hand out more than it has: no other scope, no later expiry.
    """
    scopes = token_check(
        user=user, name=name, scopes=scopes, expires_at=expires_at, acting_user=acting_user, created_with=created_with
    )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=secret[:SHOWN_PREFIX_CHARS],
        key_hash=token_hash(secret),
        scopes=scopes,
        expires_at=expires_at,
        created_by=acting_user or user,
    )
    return IssuedToken(token=token, secret=secret)


def token_check(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    acting_user: User | None = None,
    created_with: ApiToken | None = None,
) -> list[str]:
    """Raise TokenError if ``token_create`` would refuse these settings; the scopes, cleaned."""
    checked = _checked_scopes(user, scopes)
    if created_with is not None:
        _check_within(created_with, checked, expires_at)
    if not name.strip():
        raise TokenError("Give the token a name that says what it is for.")
    if acting_user is not None and acting_user.pk != user.pk and not acting_user.is_knowledge_admin:
        raise TokenError("Only knowledge admins may create tokens for someone else.")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("The expiry date is in the past.")
    return checked


def _checked_scopes(user: User, scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(scope.strip() for scope in scopes if scope.strip()))
    unknown = [scope for scope in chosen if scope not in Scope.values]
    if unknown:
        raise TokenError(f"Unknown scope {unknown[0]!r}; the scopes are {', '.join(Scope.values)}.")
    if not chosen:
        raise TokenError(f"Give the token at least one scope: {', '.join(Scope.values)}.")
    if Scope.ADMIN in chosen and not user.is_knowledge_admin:
        raise TokenError(f"Only knowledge admins' tokens can have the admin scope; {user.get_username()} is not one.")
    return chosen


def _check_within(parent: ApiToken, scopes: list[str], expires_at: datetime | None) -> None:
    beyond = [scope for scope in scopes if scope not in parent.scopes]
    if beyond:
        raise TokenError(f"A token can only create tokens with its own scopes; this one lacks {beyond[0]!r}.")
    if parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
        raise TokenError(
            f"A token can only create tokens that expire by its own expiry, {parent.expires_at:%Y-%m-%d %H:%M}."
        )


def token_revoke(*, token: ApiToken) -> None:
    """From the next request on, the token is refused; the row stays, to show when it was revoked."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])


def token_list(*, fetched_by: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first."""
    return ApiToken.objects.filter(user_id=fetched_by.pk)


def access_token_by_id(*, fetched_by: User, token_id: int | str) -> ApiToken:
    return get_visible_or_404(token_list(fetched_by=fetched_by), "No such token.", pk=token_id)


def token_refusal(token: ApiToken | None, *, now: datetime | None = None) -> str:
    """Why a presented token may not be used, in words; empty when it may."""
    now = now or timezone.now()
    if token is None:
        return "The token is not valid."
    if token.revoked_at is not None:
        return "The token has been revoked."
    if token.expires_at is not None and token.expires_at <= now:
        return "The token has expired."
    if not token.user.is_active:
        return "The token's user is deactivated."
    return ""


def token_authenticate(secret: str) -> tuple[ApiToken | None, str]:
    """The token presented in a request and why it is refused ("" when it is good); notes its use."""
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(secret.strip())).first()
    refusal = token_refusal(token)
    if token is not None and not refusal:
        _last_used_note(token)
    return token, refusal


def _last_used_note(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
