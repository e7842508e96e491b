"""Every write to who may see what: grants and the "all staff" flags.

Triggers refresh the affected documents' principals in the same transaction, so a change applies
to the very next question; each change is also recorded in the permission audit trail
(accounts/audit.py). ``acting_user`` is who asked; None is the system.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.audit import permission_change_record, principal_in_words
from accounts.models import PermissionChange, User
from knowledge.models import Document, Grant, Source

Action = PermissionChange.Action


@transaction.atomic
def grant_create(
    *,
    user: User | None = None,
    group: Group | None = None,
    source: Source | None = None,
    document: Document | None = None,
    acting_user: User | None = None,
) -> Grant:
    """Give a user or group view access to a source or document; an existing grant is returned as is."""
    grant, created = Grant.objects.get_or_create(
        user=user, group=group, source=source, document=document, defaults={"granted_by": acting_user}
    )
    if created:
        _record(grant, Action.GRANT_ADDED, acting_user=acting_user)
    return grant


@transaction.atomic
def grant_revoke(*, grant: Grant, acting_user: User | None = None) -> None:
    _record(grant, Action.GRANT_REMOVED, acting_user=acting_user)
    grant.delete()


def _record(grant: Grant, action: PermissionChange.Action, *, acting_user: User | None) -> None:
    permission_change_record(
        acting_user=acting_user,
        action=action,
        who=principal_in_words(user=grant.user, group=grant.group),
        what=target_in_words(source=grant.source, document=grant.document),
    )


def target_in_words(*, source: Source | None = None, document: Document | None = None) -> str:
    if document is not None:
        return f"document {document.title!r} (#{document.pk}, source {document.source.name!r})"
    return f"source {source.name!r}" if source is not None else ""


@transaction.atomic
def group_grant_many(
    *,
    group: Group,
    sources: Iterable[Source] = (),
    documents: Iterable[Document] = (),
    acting_user: User | None = None,
) -> int:
    """Grant the group every source and document given; returns how many grants are new."""
    before = Grant.objects.filter(group=group).count()
    for source in sources:
        grant_create(group=group, source=source, acting_user=acting_user)
    for document in documents:
        grant_create(group=group, document=document, acting_user=acting_user)
    return Grant.objects.filter(group=group).count() - before


@transaction.atomic
def group_revoke_many(
    *,
    group: Group,
    sources: Iterable[Source] = (),
    documents: Iterable[Document] = (),
    acting_user: User | None = None,
) -> int:
    """Remove the group's grants on the sources and documents given; returns how many there were."""
    grants = Grant.objects.select_related("group", "source", "document__source").filter(group=group)
    on_these = list(grants.filter(source__in=list(sources))) + list(grants.filter(document__in=list(documents)))
    for grant in on_these:
        grant_revoke(grant=grant, acting_user=acting_user)
    return len(on_these)


@transaction.atomic
def all_staff_visibility_set(*, target: Source | Document, visible: bool, acting_user: User | None = None) -> bool:
    """Make a source or document visible to every active user, or not; False if it already was so."""
    if target.visible_to_all_staff == visible:
        return False
    target.visible_to_all_staff = visible
    target.save(update_fields=["visible_to_all_staff", "updated_at"])
    all_staff_change_record(target=target, acting_user=acting_user)
    return True


def all_staff_change_record(*, target: Source | Document, acting_user: User | None) -> None:
    """Record that the target's "all staff" flag now has its current value (for the services that
    create a source or document with the flag already set)."""
    permission_change_record(
        acting_user=acting_user,
        action=Action.ALL_STAFF_ON if target.visible_to_all_staff else Action.ALL_STAFF_OFF,
        who="all staff",
        what=_target_of(target),
    )


def _target_of(target: Source | Document) -> str:
    if isinstance(target, Document):
        return target_in_words(document=target)
    return target_in_words(source=target)
