"""The audit trail of access changes (PermissionChange rows): who changed whose access, and how.

Only services write here, in the same transaction as the change they record: accounts/services.py
for memberships, roles and activation, knowledge/services/grants.py for grants and the "all staff"
flags. The admin console, the API and the commands call those services, so none of them records
anything by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import Group

from accounts.models import Origin, PermissionChange, User


@dataclass(frozen=True)
class DirectoryActor:
    """The company directory as the one who made a change (a sign-in's group sync, a SCIM request)."""

    origin: Origin

    def get_username(self) -> str:
        return f"directory ({Origin(self.origin).label})"


# Who made a change: a person, the directory, or None for the system (a command, a worker, a fixture).
Actor = User | DirectoryActor | None


def permission_change_record(
    *, acting_user: Actor, action: PermissionChange.Action, who: str, what: str = "", detail: str = ""
) -> PermissionChange:
    """One entry; ``acting_user`` None is the system (a command, a test fixture, a worker)."""
    return PermissionChange.objects.create(
        changed_by=acting_user if isinstance(acting_user, User) else None,
        changed_by_name=acting_user.get_username() if acting_user else "system",
        action=action,
        who=who,
        what=what,
        detail=detail,
    )


def principal_in_words(*, user: User | None = None, group: Group | None = None) -> str:
    return f"user {user.get_username()}" if user is not None else f"group {group.name if group else '?'}"


def memberships_record(
    *,
    acting_user: Actor,
    user: User,
    added: Sequence[Group] = (),
    removed: Sequence[Group] = (),
) -> None:
    changes = [(PermissionChange.Action.MEMBER_ADDED, added), (PermissionChange.Action.MEMBER_REMOVED, removed)]
    for action, groups in changes:
        for group in groups:
            who, what = principal_in_words(user=user), principal_in_words(group=group)
            permission_change_record(acting_user=acting_user, action=action, who=who, what=what)


def role_change_record(*, acting_user: Actor, user: User, before: str) -> None:
    """The user's role is now ``user.role``; ``before`` is how the old one reads."""
    action, who = PermissionChange.Action.ROLE_CHANGED, principal_in_words(user=user)
    detail = f"{before} → {user.get_role_display()}"
    permission_change_record(acting_user=acting_user, action=action, who=who, detail=detail)


def activation_change_record(*, acting_user: Actor, user: User) -> None:
    """The user is now active, or not, as ``user.is_active`` says."""
    action = PermissionChange.Action.USER_ACTIVATED if user.is_active else PermissionChange.Action.USER_DEACTIVATED
    permission_change_record(acting_user=acting_user, action=action, who=principal_in_words(user=user))
