"""Calling the REST API as alice, bob, charlie or the admin, each with a real token."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Scope, User
from accounts.tokens import token_create

EVERY_SCOPE = (Scope.ASK, Scope.READ, Scope.ADMIN)
STAFF_SCOPES = (Scope.ASK, Scope.READ)


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def token_for(user: User, scopes: Iterable[str] | None = None, **options: object) -> str:
    chosen = scopes if scopes is not None else (EVERY_SCOPE if user.is_knowledge_admin else STAFF_SCOPES)
    return token_create(user=user, name="tests", scopes=chosen, **options).secret  # type: ignore[arg-type]


@pytest.fixture
def api() -> Callable[..., APIClient]:
    """api(user) is a client with a fresh token for ``user`` (every scope it may have); api(None)
    is anonymous; api(user, scopes=[...]) limits the token."""

    def client(user: User | None, scopes: Iterable[str] | None = None, **options: object) -> APIClient:
        return APIClient() if user is None else bearer(token_for(user, scopes, **options))

    return client


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Rate-limit counters live in the cache, which outlives a test's database."""
    cache.clear()
