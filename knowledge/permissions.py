"""The visibility rule, written once.

A user may see a document when the user is an active knowledge admin (or superuser), or the
document or its source is granted to the user or to a group the user belongs to, or the document
or its source is visible to all staff.

Both sides of the rule are expressed as *principals*, short strings that name who is asking:
``"staff"`` for every active user, ``"u:<id>"`` for the user, ``"g:<id>"`` for each group. A
document's principals (kept by database triggers, migrations 0002 and 0005) are the ones its
grants and flags admit, plus "*", which only knowledge admins and the system context hold in
SQL (it keeps the row-level security policy a single indexable overlap); a user may see it when
the two sets overlap. The row-level security policies in
migration 0002 implement the same rule in SQL from the user id set for the transaction
(core/rls.py), as a second wall that does not trust this module.
"""

from __future__ import annotations

from django.db.models import Q

from accounts.models import User
from core.types import AnyUser

ALL_STAFF = "staff"


def user_principal(user_id: int) -> str:
    return f"u:{user_id}"


def group_principal(group_id: int) -> str:
    return f"g:{group_id}"


def sees_everything(user: AnyUser) -> bool:
    """Knowledge admins manage every document, so they may see every document."""
    return bool(getattr(user, "is_knowledge_admin", False))


def principals_of(user: AnyUser) -> list[str]:
    """The principals a user acts as; empty for anonymous and deactivated users."""
    if not isinstance(user, User) or not user.is_active:
        return []
    group_ids = user.groups.values_list("id", flat=True)
    return [ALL_STAFF, user_principal(user.pk), *(group_principal(gid) for gid in group_ids)]


def visible_filter(user: AnyUser) -> Q:
    """A filter for any model with a ``principals`` column (documents, chunks)."""
    if sees_everything(user):
        return Q()
    principals = principals_of(user)
    if not principals:
        return Q(pk__in=[])
    return Q(principals__overlap=principals)
