"""Telling PostgreSQL who is asking, so row-level security can apply the visibility rule.

Two transaction-local settings are read by the policies of migration 0002:
``enclave.user_id`` (the requesting user; empty = nobody, who sees no documents) and
``enclave.system`` ("on" only for ingestion and maintenance work that must touch every document).
Both are set with ``set_config(..., is_local => true)``, so they vanish when the transaction ends
and can never leak from one request to the next on a reused connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponseBase

from core.types import AnyUser

USER_SETTING = "enclave.user_id"
SYSTEM_SETTING = "enclave.system"
API_PATH = "/api/"


def _read() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), '')",
            [USER_SETTING, SYSTEM_SETTING],
        )
        user_id, system = cursor.fetchone()
    return user_id, system


def _apply(user_id: str, system: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [USER_SETTING, user_id, SYSTEM_SETTING, system],
        )


@contextmanager
def _database_identity(user_id: str, system: str) -> Iterator[None]:
    # An outermost block's settings end with its transaction; only a nested block must put back
    # what the enclosing one had set.
    nested = connection.in_atomic_block
    with transaction.atomic():
        previous = _read() if nested else None
        _apply(user_id, system)
        yield
        # Only on a clean exit: after an error the enclosing savepoint or transaction is rolled
        # back, and PostgreSQL reverts the settings with it.
        if previous is not None:
            _apply(*previous)


def _user_id_of(user: AnyUser | None) -> str:
    if user is None or not user.is_authenticated or not user.is_active:
        return ""
    return str(user.pk)


def acting_as(user: AnyUser | None) -> AbstractContextManager[None]:
    """Run the block in a transaction in which the database sees ``user`` as the one asking."""
    return _database_identity(_user_id_of(user), "off")


def acting_as_system() -> AbstractContextManager[None]:
    """Run the block with access to every document: for ingestion and maintenance, never requests."""
    return _database_identity("", "on")


# The probes and metrics act for nobody, and must answer (with a 503) even when the database is down,
# which the transaction opened below would turn into a 500.
WITHOUT_IDENTITY = frozenset({"/livez", "/healthz", "/readyz", "/metrics"})


class RowLevelSecurityMiddleware:
    """Wrap each request in a transaction that carries the signed-in user's id to PostgreSQL.

    A streaming response body runs after this returns, outside the transaction; such views must
    open their own ``acting_as`` block, and anything that forgets sees no documents at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info in WITHOUT_IDENTITY:
            return self.get_response(request)
        if request.path_info.startswith(API_PATH):
            # A REST API call names its user by a token that DRF reads inside the view, after this
            # middleware; its views open the block themselves once they know the caller
            # (core/api/base.py). Until then nothing is set, so nothing can be read.
            return self.get_response(request)
        with acting_as(getattr(request, "user", None)):
            return self.get_response(request)
