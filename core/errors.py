"""Enclave's one error vocabulary (HackSoft's ``ApplicationError``, Zulip's ``JsonableError``).

A domain error says what went wrong in words for people (``message``), and what kind of failure it
is as a stable ``code`` for programs and an ``http_status``; invalid input may say which fields
(``fields``). The API answers any of them with ``{code, message, fields}`` and its status
(core/api/errors.py); the page's JSON endpoints with ``{error, code}`` and the same status
(core/pages.py). Services and selectors raise them and know nothing of HTTP beyond those two
attributes; the handlers let them propagate.

    class QuestionError(EnclaveError, ValueError):  # callers that catch ValueError still do
        '''A question that cannot be asked.'''

    raise QuestionError("The question is empty.")
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from django.http import Http404


class EnclaveError(Exception):
    """An error whose message is for the person who caused it (safe to show them)."""

    code: str = "invalid"
    http_status: int = 400

    def __init__(self, message: str, *, fields: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # What is wrong with each invalid input field, e.g. {"file": ["The file is empty (0 bytes)."]}.
        self.fields: dict[str, list[str]] = {name: list(problems) for name, problems in (fields or {}).items()}


class NotFound(EnclaveError, Http404):
    """Missing, or not the caller's to see: the two look alike (outsiders get 404, never 403).

    Also an Http404, so a page shows the site's own 404 page for it.
    """

    code = "not_found"
    http_status = 404


@contextmanager
def about_field(name: str) -> Iterator[None]:
    """Errors raised inside are about the request's field ``name``: the answer names it in ``fields``.

    For a handler whose one input a service checks (an upload's ``file``, a ``question``), which the
    service itself knows by another name or not at all.
    """
    try:
        yield
    except EnclaveError as exc:
        if not exc.fields:
            exc.fields = {name: [exc.message]}
        raise
