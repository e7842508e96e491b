"""The sign-in form, which can say why a directory sign-in failed, not only that it did.

A backend that cannot ask its directory (the LDAP server is down, TLS fails) refuses the sign-in
and notes the reason on the request; the form shows that reason instead of "wrong password", so a
person knows to try later and an administrator knows where to look. Local passwords are checked
first and never depend on the directory, so the break-glass admin still gets in.
"""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.functional import Promise

_NOTE = "_enclave_sign_in_problem"


def sign_in_problem_note(request: HttpRequest | None, problem: str | Promise) -> None:
    """Remember, for this request's sign-in form, why the directory could not be asked."""
    if request is not None:
        setattr(request, _NOTE, problem)


def sign_in_problem(request: HttpRequest | None) -> str | Promise | None:
    return getattr(request, _NOTE, None)


class SignInForm(AuthenticationForm):
    """Django's sign-in form; a failed sign-in says the directory's problem when there was one."""

    def get_invalid_login_error(self) -> ValidationError:
        problem = sign_in_problem(self.request)
        if problem is None:
            return super().get_invalid_login_error()
        return ValidationError(str(problem), code="directory_unavailable")

    @property
    def sign_in_problem(self) -> str | Promise | None:
        return sign_in_problem(self.request)
