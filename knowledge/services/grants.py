"""Every write to who may see what: grants and the "all staff" flags.

Triggers refresh the affected documents' principals in the same transaction, so a change applies
to the very next question; each change is also recorded in the permission audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User
from knowledge.models import Document, Grant, PermissionChange, Source
from knowledge.permissions import AnyUser
from knowledge.services.permission_log import permission_change_record, principal_in_words, target_in_words

Action = PermissionChange.Action


@transaction.atomic
def grant_create(
    *,
    user: User | None = None,
    group: Group | None = None,
    source: Source | None = None,
    document: Document | None = None,
    granted_by: User | None = None,
) -> Grant:
    """Give a user or group view access to a source or document; an existing grant is returned as is."""
    grant, created = Grant.objects.get_or_create(
        user=user, group=group, source=source, document=document, defaults={"granted_by": granted_by}
    )
    if created:
        _record(grant, Action.GRANT_ADDED, changed_by=granted_by)
    return grant


@transaction.atomic
def grant_revoke(*, grant: Grant, revoked_by: AnyUser | None = None) -> None:
    _record(grant, Action.GRANT_REMOVED, changed_by=revoked_by)
    grant.delete()


def _record(grant: Grant, action: PermissionChange.Action, *, changed_by: AnyUser | None) -> None:
    permission_change_record(
        changed_by=changed_by,
        action=action,
        who=principal_in_words(user=grant.user, group=grant.group),
        what=target_in_words(source=grant.source, document=grant.document),
    )


@transaction.atomic
def group_grant_many(
    *,
    group: Group,
    sources: Iterable[Source] = (),
    documents: Iterable[Document] = (),
    granted_by: User | None = None,
) -> int:
    """Grant the group every source and document given; returns how many grants are new."""
    before = Grant.objects.filter(group=group).count()
    for source in sources:
        grant_create(group=group, source=source, granted_by=granted_by)
    for document in documents:
        grant_create(group=group, document=document, granted_by=granted_by)
    return Grant.objects.filter(group=group).count() - before


@transaction.atomic
def group_revoke_many(
    *,
    group: Group,
    sources: Iterable[Source] = (),
    documents: Iterable[Document] = (),
    revoked_by: User | None = None,
) -> int:
    """Remove the group's grants on the sources and documents given; returns how many there were."""
    grants = Grant.objects.select_related("group", "source", "document__source").filter(group=group)
    on_these = list(grants.filter(source__in=list(sources))) + list(grants.filter(document__in=list(documents)))
    for grant in on_these:
        grant_revoke(grant=grant, revoked_by=revoked_by)
    return len(on_these)


@transaction.atomic
def all_staff_visibility_set(*, target: Source | Document, visible: bool, changed_by: AnyUser | None = None) -> bool:
    """Make a source or document visible to every active user, or not; False if it already was so."""
    if target.visible_to_all_staff == visible:
        return False
    target.visible_to_all_staff = visible
    target.save(update_fields=["visible_to_all_staff", "updated_at"])
    all_staff_change_record(target=target, changed_by=changed_by)
    return True


def all_staff_change_record(*, target: Source | Document, changed_by: AnyUser | None) -> None:
    """Record that the target's "all staff" flag now has its current value (for forms that save it)."""
    permission_change_record(
        changed_by=changed_by,
        action=Action.ALL_STAFF_ON if target.visible_to_all_staff else Action.ALL_STAFF_OFF,
        who="all staff",
        what=_target_of(target),
    )


def _target_of(target: Source | Document) -> str:
    if isinstance(target, Document):
        return target_in_words(document=target)
    return target_in_words(source=target)
