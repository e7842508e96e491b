"""Typed requests (healthchecks' hc/accounts/http.py is the model): a view behind login_required
takes an AuthenticatedHttpRequest, so `request.user` is an Enclave User to the type checker too."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
