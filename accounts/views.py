"""Single sign-on's start and return, and signing out (the sign-in page is Django's LoginView).

The single sign-on views are mozilla-django-oidc's (see accounts/oidc.py), told Enclave's
settings, with every way a sign-in can fail turned into a page that says what happened.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView, OIDCLogoutView

from accounts.directory import DirectoryConflict
from accounts.oidc import (
    ProviderUnavailable,
    SignInRefused,
    library_setting,
    oidc_enabled,
    provider_metadata,
)

logger = logging.getLogger(__name__)


def sign_in_problem(request: HttpRequest, kind: str, detail: str = "", *, status: int) -> HttpResponse:
    """The page for a sign-in that did not work: what happened (``kind``), and why in words."""
    context = {"kind": kind, "detail": detail}  # and the provider's name (accounts/context_processors.py)
    return render(request, "accounts/sign_in_problem.html", context, status=status)


class SingleSignOnStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider, with a fresh state, nonce and PKCE challenge."""

    get_settings = staticmethod(library_setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the library reads the endpoint here; it is looked up in get()

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:  # the library's name
        return str(provider_metadata()["authorization_endpoint"])

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return str(settings.ENCLAVE_OIDC_CLIENT_ID)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            provider_metadata()
        except ProviderUnavailable as exc:
            logger.warning("OIDC provider unavailable: %s", exc.message)
            return sign_in_problem(request, "unreachable", exc.message, status=503)
        response: HttpResponse = super().get(request)
        return response


class SingleSignOnReturnView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: the code is exchanged, checked and signed in."""

    get_settings = staticmethod(library_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            response: HttpResponse = super().get(request)
        except ProviderUnavailable as exc:
            logger.warning("OIDC provider unavailable: %s", exc.message)
            return sign_in_problem(request, "unreachable", exc.message, status=503)
        except (SignInRefused, DirectoryConflict) as exc:
            logger.warning("OIDC sign-in refused: %s", exc.message)
            return sign_in_problem(request, "refused", exc.message, status=403)
        except SuspiciousOperation as exc:
            # A state that this browser's session never issued, or already used: a replayed or
            # forged return, or a sign-in begun in another browser. The library says which.
            logger.warning("OIDC sign-in refused: %s", exc)
            return sign_in_problem(request, "stale", status=400)
        except requests.RequestException as exc:
            logger.warning("OIDC provider failed during sign-in: %s", exc)
            return sign_in_problem(request, "failed", _provider_answer(exc), status=502)
        return response

    def login_failure(self) -> HttpResponse:
        request = self.request
        request.session.pop("oidc_id_token", None)
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            return sign_in_problem(request, "deactivated", status=403)
        if request.GET.get("error"):
            detail = request.GET.get("error_description") or request.GET["error"]
            return sign_in_problem(request, "provider_said_no", detail[:300], status=403)
        return sign_in_problem(request, "stale", status=400)


def _provider_answer(exc: requests.RequestException) -> str:
    if exc.response is not None:
        return f"The provider answered HTTP {exc.response.status_code} when Enclave exchanged the sign-in code."
    return "The provider did not answer when Enclave exchanged the sign-in code."


class SignOutView(OIDCLogoutView):
    """Signs out of Enclave, and of the provider too when single sign-on began the session."""

    get_settings = staticmethod(library_setting)

    def post(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = super().post(request)
        target = response.get("Location", "")
        if not target or url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return response
        # The chat page lets its forms go only to Enclave (form-action 'self'), and browsers hold the
        # redirects that follow a form to that too: a page of Enclave's sends the browser on instead.
        return render(request, "accounts/signing_out.html", {"provider_url": target})
