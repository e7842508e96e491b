"""The pages' side of the error vocabulary (core/errors.py): what a page's JSON endpoint answers when
a service refuses, with the same code, words and status as the REST API gives for the same error."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponseBase, JsonResponse

from core.errors import EnclaveError, NotFound

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def page_error_body(error: EnclaveError) -> dict[str, Any]:
    """``{"error": message, "code": code}`` (and ``fields`` when the error names any): the page's
    script shows ``error`` as it is, so the message is already in the words the page speaks."""
    body: dict[str, Any] = {"error": str(error.message), "code": error.code}
    if error.fields:
        body["fields"] = error.fields
    return body


def json_errors(view: View) -> View:
    """A page endpoint that answers JSON: an EnclaveError it lets through becomes its JSON answer.

    NotFound is left to Django, so a hidden or missing object shows the site's own 404 page, as on
    every other page.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise
        except EnclaveError as exc:
            return JsonResponse(page_error_body(exc), status=exc.http_status)

    return wrapped  # type: ignore[return-value]
