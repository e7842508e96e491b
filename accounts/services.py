"""Every write to users and groups."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Role, User


@dataclass(frozen=True)
class UserSetupResult:
    user: User
    created: bool
    password: str | None  # the password set by this call, if any, so it can be shown once


@transaction.atomic
def user_setup(
    *,
    username: str,
    role: Role = Role.STAFF,
    groups: Iterable[str] = (),
    password: str | None = None,
    generate_password: bool = False,
    email: str = "",
    superuser: bool | None = None,
) -> UserSetupResult:
    """Create the user, or give an existing one this role; either way add them to ``groups``.

    Idempotent. Group memberships the user already has are kept, and so is superuser status
    unless ``superuser`` is given.

    An existing user's password is changed only when one is given; a new user without one gets a
    random password when ``generate_password`` is set, or an unusable one (no sign-in) otherwise.
    """
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if password is None and created and generate_password:
        password = secrets.token_urlsafe(12)
    if password is not None:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.role = role
    if superuser is not None:
        user.is_superuser = superuser
    if email:
        user.email = email
    user.save()
    user.groups.add(*[Group.objects.get_or_create(name=name)[0] for name in groups])
    return UserSetupResult(user=user, created=created, password=password)


@transaction.atomic
def users_deactivate(*, users: Iterable[User], deactivated_by: User) -> int:
    """Deactivate users (never the one asking, who would lock themselves out); returns how many.

    A deactivated user sees nothing from the next question on: the visibility rule admits only
    active users, and their sessions and API tokens stop working.
    """
    from knowledge.services.permission_log import account_change_record

    count = 0
    for user in users:
        if user.pk == deactivated_by.pk or not user.is_active:
            continue
        before = User.objects.get(pk=user.pk)
        user.is_active = False
        user.save(update_fields=["is_active"])
        account_change_record(changed_by=deactivated_by, user=user, before=before)
        count += 1
    return count
