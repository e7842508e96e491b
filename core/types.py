"""Types every layer shares."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# What request.user can be: a signed-in user (Enclave's User is an AbstractBaseUser) or nobody.
# Selectors and services accept any of it and treat non-users as nobody.
AnyUser = AbstractBaseUser | AnonymousUser
