"""The audit trail of access changes: every service that changes who may see what records here."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import Group

from accounts.models import User
from knowledge.models import Document, PermissionChange, Source
from knowledge.permissions import AnyUser


def permission_change_record(
    *, changed_by: AnyUser | None, action: PermissionChange.Action, who: str, what: str = "", detail: str = ""
) -> PermissionChange:
    actor = changed_by if isinstance(changed_by, User) else None
    return PermissionChange.objects.create(
        changed_by=actor,
        changed_by_name=actor.get_username() if actor else "system",
        action=action,
        who=who,
        what=what,
        detail=detail,
    )


def principal_in_words(*, user: User | None = None, group: Group | None = None) -> str:
    return f"user {user.get_username()}" if user is not None else f"group {group.name if group else '?'}"


def target_in_words(*, source: Source | None = None, document: Document | None = None) -> str:
    if document is not None:
        return f"document {document.title!r} (#{document.pk}, source {document.source.name!r})"
    return f"source {source.name!r}" if source is not None else ""


def memberships_record(
    *,
    changed_by: AnyUser | None,
    user: User,
    added: Sequence[Group] = (),
    removed: Sequence[Group] = (),
) -> None:
    changes = [(PermissionChange.Action.MEMBER_ADDED, added), (PermissionChange.Action.MEMBER_REMOVED, removed)]
    for action, groups in changes:
        for group in groups:
            who, what = principal_in_words(user=user), principal_in_words(group=group)
            permission_change_record(changed_by=changed_by, action=action, who=who, what=what)


def account_change_record(*, changed_by: AnyUser | None, user: User, before: User) -> None:
    """Record a change of role or of active status between two states of the same user."""
    who = principal_in_words(user=user)
    if before.role != user.role:
        detail = f"{before.get_role_display()} → {user.get_role_display()}"
        permission_change_record(
            changed_by=changed_by, action=PermissionChange.Action.ROLE_CHANGED, who=who, detail=detail
        )
    if before.is_active != user.is_active:
        action = PermissionChange.Action.USER_ACTIVATED if user.is_active else PermissionChange.Action.USER_DEACTIVATED
        permission_change_record(changed_by=changed_by, action=action, who=who)
