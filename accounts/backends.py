"""Local passwords, which ENCLAVE_LOCAL_PASSWORDS may keep for the break-glass accounts only.

With single sign-on in place a company wants one way in for staff, and one that still works when
the identity provider is down: the local superusers and knowledge admins who administer Enclave.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import Origin, User


def password_sign_in_allowed(user: User) -> bool:
    """Whether ENCLAVE_LOCAL_PASSWORDS lets this account sign in with its password."""
    if settings.ENCLAVE_LOCAL_PASSWORDS == "all":
        return True
    return user.origin == Origin.LOCAL and (user.is_superuser or user.is_knowledge_admin)


class PasswordBackend(ModelBackend):
    """Django's password check, refused to the accounts that ENCLAVE_LOCAL_PASSWORDS leaves out.

    Only the sign-in is refused: loading a signed-in user from their session stays Django's own.
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if isinstance(user, User) and password_sign_in_allowed(user):
            return user
        return None
