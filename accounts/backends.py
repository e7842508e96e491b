"""Local passwords: Django's ModelBackend, for the people whose password Enclave keeps."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import Origin, User


class LocalPasswordBackend(ModelBackend):
    """Django's password check, which passes a directory's people straight on to the directory.

    They have no local password (accounts/directory.py makes it unusable), yet Django would still
    run the password hasher once for them, so that an unusable password takes as long as a wrong
    one: about a second of every LDAP sign-in on a busy 2-core machine, to hide that an account
    exists, which the directory's own lookup that follows shows anyway.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        name = kwargs.get(User.USERNAME_FIELD, username)
        if name is not None and User.objects.filter(username=name).exclude(origin=Origin.LOCAL).exists():
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        return user if isinstance(user, User) else None
