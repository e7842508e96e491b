"""Local passwords: Django's ModelBackend, for the people whose password Enclave keeps, and which
ENCLAVE_LOCAL_PASSWORDS may keep for the break-glass accounts only.

With single sign-on in place a company wants one way in for staff, and one that still works when
the identity provider or the directory is down: the local superusers and knowledge admins who
administer Enclave.
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


class LocalPasswordBackend(ModelBackend):
    """Django's password check, refused to the accounts that ENCLAVE_LOCAL_PASSWORDS leaves out,
    and which passes a directory's people straight on to the directory.

    They have no local password (accounts/directory.py makes it unusable), yet Django would still
    run the password hasher once for them, so that an unusable password takes as long as a wrong
    one: about a second of every LDAP sign-in on a busy 2-core machine, to hide that an account
    exists, which the directory's own lookup that follows shows anyway. Only the sign-in is
    refused: loading a signed-in user from their session stays Django's own.
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        name = kwargs.get(User.USERNAME_FIELD, username)
        if name is not None and User.objects.filter(username=name).exclude(origin=Origin.LOCAL).exists():
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if isinstance(user, User) and password_sign_in_allowed(user):
            return user
        return None
