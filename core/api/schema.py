"""The OpenAPI schema (drf-spectacular): every operation documents the errors it can give, in the one
error format, so clients (and the schemathesis test) can rely on the schema for 4xx responses too."""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.openapi import AutoSchema

from core.api.errors import ErrorSerializer

ERRORS = {
    "400": "Invalid input: `fields` says which and why",
    "401": "No token, or a token that is unknown, revoked, expired or whose user is deactivated",
    "403": "The token lacks the scope, or the user the role, that this endpoint needs",
    "404": "No such object, or one this user may not see (the two look alike)",
    "413": "The request body is larger than this endpoint accepts",
    "429": "Too many requests for this token; wait for the seconds in Retry-After",
}
BODY_ERRORS = {"415": "The body is not JSON (or a form, or multipart for uploads)"}


class ApiSchema(AutoSchema):
    def get_description(self) -> str:
        # Only what the endpoint itself says: docstrings inherited from the shared base classes are
        # notes for developers, not for integrators.
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        own = (
            handler.__doc__ if handler is not None and handler.__doc__ else self.view.__class__.__dict__.get("__doc__")
        )
        return inspect.cleandoc(own or "")

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = {**ERRORS, **(BODY_ERRORS if self.method in ("POST", "PUT", "PATCH") else {})}
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, ["application/json"], direction)
                responses[code] = {**response, "description": description}
        return responses
