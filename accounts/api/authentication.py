"""How a REST API call says who it acts as: a personal token (``Authorization: Bearer enc_...``) or,
for the page's own calls, the signed-in session (with its CSRF check)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.models import ApiToken, User
from accounts.tokens import token_authenticate

KEYWORD = "Bearer"


class ApiTokenAuthentication(BaseAuthentication):
    """A revoked or expired token, or one whose user was deactivated, is refused with a 401 that
    says which; a request without a token falls through to the session."""

    def authenticate(self, request: HttpRequest) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token, refusal = token_authenticate(secret)
        if refusal or token is None:
            raise exceptions.AuthenticationFailed(refusal)
        return token.user, token

    def authenticate_header(self, request: HttpRequest) -> str:
        # Also what makes DRF answer a missing token with 401 rather than 403.
        return f'{KEYWORD} realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.api.authentication.ApiTokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token: `manage.py token_create USER --name NAME --scopes ask,read`, "
            "or POST /api/v1/tokens while signed in.",
        }
