"""Every write to users and groups: roles, activation and group memberships.

Each change to what a person may see (a role, active or not, a membership) is recorded in the
permission audit trail (accounts/audit.py) by the service that makes it. ``acting_user`` is who
asked; None is the system (a command run without a user).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.audit import Actor, activation_change_record, memberships_record, role_change_record
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
    acting_user: User | None = None,
) -> UserSetupResult:
    """Create the user, or give an existing one this role; either way add them to ``groups``.

    Idempotent. Group memberships the user already has are kept, and so is superuser status
    unless ``superuser`` is given.

    An existing user's password is changed only when one is given; a new user without one gets a
    random password when ``generate_password`` is set, or an unusable one (no sign-in) otherwise.
    A changed role and each group joined are recorded as ``acting_user``'s doing.
    """
    # A new user starts with the role: only a change of an existing user's role is recorded.
    user, created = User.objects.get_or_create(username=username, defaults={"email": email, "role": role})
    if password is None and created and generate_password:
        password = secrets.token_urlsafe(12)
    if password is not None:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    if superuser is not None:
        user.is_superuser = superuser
    if email:
        user.email = email
    user.save()
    user_role_set(user=user, role=role, acting_user=acting_user)
    named = [Group.objects.get_or_create(name=name)[0] for name in groups]
    user_groups_set(user=user, groups=[*user.groups.all(), *named], acting_user=acting_user)
    return UserSetupResult(user=user, created=created, password=password)


@transaction.atomic
def user_role_set(*, user: User, role: Role, acting_user: Actor) -> bool:
    """Give the user this role (a knowledge admin sees every document and enters the admin
    console); False if they already had it. ``user`` is taken as it is saved now."""
    if user.role == role:
        return False
    before = user.get_role_display()
    user.role = role
    user.save(update_fields=["role"])
    role_change_record(acting_user=acting_user, user=user, before=before)
    return True


@transaction.atomic
def user_activation_set(*, user: User, active: bool, acting_user: Actor) -> bool:
    """Activate or deactivate the user; False if they already were so.

    A deactivated user sees nothing from the next question on: the visibility rule admits only
    active users, and their sessions and API tokens stop working.
    """
    if user.is_active == active:
        return False
    user.is_active = active
    user.save(update_fields=["is_active"])
    activation_change_record(acting_user=acting_user, user=user)
    if not active:
        user_sessions_end(user=user)
    return True


def user_sessions_end(*, user: User) -> int:
    """Delete the user's signed-in sessions; returns how many.

    Not what keeps a deactivated user out (the session middleware already refuses an inactive
    user at their next request), but a session that cannot be used should not linger either.
    Sessions keep the user's id only inside their encoded data, so each live one is decoded.
    """
    live = Session.objects.filter(expire_date__gt=timezone.now())
    theirs = [s.pk for s in live.iterator() if s.get_decoded().get(SESSION_KEY) == str(user.pk)]
    Session.objects.filter(pk__in=theirs).delete()
    return len(theirs)


@transaction.atomic
def users_deactivate(*, users: Iterable[User], acting_user: User | None) -> int:
    """Deactivate users (never the one asking, who would lock themselves out); returns how many."""
    others = [user for user in users if acting_user is None or user.pk != acting_user.pk]
    return sum(user_activation_set(user=user, active=False, acting_user=acting_user) for user in others)


@transaction.atomic
def user_groups_set(*, user: User, groups: Iterable[Group], acting_user: Actor) -> bool:
    """Make the user a member of exactly these groups; False if they already were."""
    before, after = set(user.groups.all()), set(groups)
    added, removed = _by_name(after - before), _by_name(before - after)
    user.groups.remove(*removed)
    user.groups.add(*added)
    memberships_record(acting_user=acting_user, user=user, added=added, removed=removed)
    return bool(added or removed)


@transaction.atomic
def group_members_change(
    *, group: Group, added: Iterable[User] = (), removed: Iterable[User] = (), acting_user: Actor
) -> None:
    """Take ``removed`` out of the group, then put ``added`` in (so someone in both stays a member).

    Changes, not the whole list: a member someone else added meanwhile is kept. Only real changes
    are recorded (removing a non-member or adding a member does nothing).
    """
    members = set(group.user_set.all())
    leaving = [user for user in dict.fromkeys(removed) if user in members]
    group.user_set.remove(*leaving)
    joining = [user for user in dict.fromkeys(added) if user not in members - set(leaving)]
    group.user_set.add(*joining)
    for user in leaving:
        memberships_record(acting_user=acting_user, user=user, removed=[group])
    for user in joining:
        memberships_record(acting_user=acting_user, user=user, added=[group])


def _by_name(groups: set[Group]) -> list[Group]:
    return sorted(groups, key=lambda group: group.name)
