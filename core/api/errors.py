"""One error format for every 4xx the REST API gives:

    {"code": "not_found", "message": "No such document.", "fields": {}}

``code`` is stable for programs, ``message`` is for people, and ``fields`` maps each invalid field to
what is wrong with it (``"scopes.0"`` for the first item of a list). A domain error (core/errors.py)
is answered here, in one place, with its own code, message and status.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.common import no_append_slash
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from core.errors import EnclaveError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


NOT_AUTHENTICATED = (
    "Send a token as 'Authorization: Bearer <token>' (create one with manage.py token_create, "
    "or POST /api/v1/tokens while signed in)."
)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, WWW-Authenticate, Retry-After) with the body in the one format."""
    if isinstance(exc, EnclaveError):
        set_rollback()  # as DRF does for its own errors: nothing the refused request wrote is kept
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.http_status)
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # a server error: Django's 500 handling, logged with its traceback
    response.data = _body_of(exc)
    return response


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(str(exc) or None)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many form fields: Django's own 400
        return exceptions.ParseError(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or None)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    return exc


def _body_of(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = _flattened(exc.detail)
        general = fields.pop("non_field_errors", []) + fields.pop("", [])
        message = general[0] if general else "Some fields are not valid: " + ", ".join(sorted(fields)) + "."
        return error_body("invalid", message, fields)
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_body(exc.default_code, NOT_AUTHENTICATED)
    code = exc.get_codes()
    return error_body(code if isinstance(code, str) else exc.default_code, str(exc.detail))


def _flattened(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as one level: {"scopes": {0: ["..."]}} -> {"scopes.0": ["..."]}."""
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        return {prefix: [str(item) for item in detail]}
    elif isinstance(detail, list):
        items = enumerate(detail)  # type: ignore[assignment]
    else:
        return {prefix: [str(detail)]}
    flat: dict[str, list[str]] = {}
    for key, value in items:
        if value in ({}, []):
            continue  # a list item with no error
        flat.update(_flattened(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


@csrf_exempt  # a wrong address gets this 404, not a CSRF page, whatever its method
@no_append_slash
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other URL under /api/v1/: the same 404 as the API's own, not Django's HTML page."""
    message = (
        f"Nothing at {request.path}: no such endpoint, or an id that is not a number. "
        "The endpoints are listed at /api/docs/."
    )
    return JsonResponse(error_body("not_found", message), status=404)


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx response (for the OpenAPI schema)."""

    code = serializers.CharField(
        help_text="Stable, for programs: invalid, not_authenticated, not_found, throttled, ..."
    )
    message = serializers.CharField(help_text="For people: what went wrong and what to do")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='What is wrong with each invalid field, e.g. {"question": ["This field is required."]}',
    )
