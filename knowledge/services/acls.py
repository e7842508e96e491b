"""Every write to a document's ACL as read from its source (file-share permissions, issue 19).

A source reader turns each entry it reads (an NT ACE, a POSIX ACL entry) into an ``AclEntryRead``,
with the Enclave user or group it maps to, and a sync calls ``document_acl_replace``. Triggers
(knowledge migration 0011) refresh the document's and its chunks' ``principals`` and ``denied``
in the same transaction, so a changed ACL applies to the next question without re-parsing or
re-embedding anything. The entries count only when the source's ``permissions_from`` is ``source``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.audit import permission_change_record
from accounts.models import PermissionChange, User
from knowledge.models import AclEntry, Document
from knowledge.services.grants import target_in_words


@dataclass(frozen=True)
class AclEntryRead:
    """One entry as read. With no user, no group and not ``everyone`` it maps to nobody: it is kept,
    so that the console can list it, and admits or denies no one."""

    allow: bool
    as_read: str  # how the source names the principal: "DOMAIN\\Finance", "S-1-5-21-…-1107", "group:finance"
    user: User | None = None
    group: Group | None = None
    everyone: bool = False
    inherited_from: str = ""

    def key(self) -> tuple[bool, int | None, int | None, bool, str, str]:
        user_id = self.user.pk if self.user else None
        group_id = self.group.pk if self.group else None
        return (self.allow, user_id, group_id, self.everyone, self.as_read, self.inherited_from)


@transaction.atomic
def document_acl_replace(*, document: Document, entries: Sequence[AclEntryRead]) -> bool:
    """Make ``entries`` the document's ACL; False (and nothing written) when it is unchanged."""
    if _stored_keys(document) == [entry.key() for entry in entries]:
        return False
    AclEntry.objects.filter(document=document).delete()
    AclEntry.objects.bulk_create(
        AclEntry(
            document=document,
            position=position,
            allow=entry.allow,
            user=entry.user,
            group=entry.group,
            everyone=entry.everyone,
            as_read=entry.as_read[:300],
            inherited_from=entry.inherited_from[:1000],
        )
        for position, entry in enumerate(entries)
    )
    denies = sum(not entry.allow for entry in entries)
    unmapped = sum(not (entry.user or entry.group or entry.everyone) for entry in entries)
    permission_change_record(
        acting_user=None,
        action=PermissionChange.Action.ACL_CHANGED,
        who="the source's ACL",
        what=target_in_words(document=document),
        detail=f"{len(entries)} entries as read ({denies} deny, {unmapped} mapping to nobody in Enclave)",
    )
    return True


def _stored_keys(document: Document) -> list[tuple[bool, int | None, int | None, bool, str, str]]:
    rows = AclEntry.objects.filter(document=document).order_by("position")
    fields = ("allow", "user_id", "group_id", "everyone", "as_read", "inherited_from")
    return [tuple(row) for row in rows.values_list(*fields)]  # type: ignore[misc]
