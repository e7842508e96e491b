"""Why a user can, or cannot, see a document: the grants and flags that admit them, in words."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from accounts.models import User
from knowledge.models import Document, Grant
from knowledge.permissions import AnyUser, sees_everything


def document_access_reasons(*, fetched_by: AnyUser, user: User, document: Document) -> list[str]:
    """Every reason ``user`` may see ``document``; an empty list means they may not.

    For knowledge admins (``fetched_by``), who may inspect anyone's access; others get "not found".
    """
    if not sees_everything(fetched_by):
        raise Http404("No such document.")
    if not user.is_active:
        return []
    reasons = []
    if user.is_knowledge_admin:
        reasons.append("is a knowledge admin, who may see every document")
    if document.visible_to_all_staff:
        reasons.append("the document is visible to all staff")
    if document.source.visible_to_all_staff:
        reasons.append(f"the source {document.source.name!r} is visible to all staff")
    return reasons + [_describe(grant) for grant in _grants_admitting(user, document)]


def _grants_admitting(user: User, document: Document) -> list[Grant]:
    on_this = Q(document=document) | Q(source_id=document.source_id)
    to_them = Q(user=user) | Q(group__in=user.groups.all())
    return list(Grant.objects.select_related("group", "source").filter(on_this & to_them).order_by("id"))


def _describe(grant: Grant) -> str:
    on = f"the source {grant.source.name!r}" if grant.source else "this document"
    who = f"through the group {grant.group.name!r}" if grant.group else "directly"
    return f"granted {on} {who}"
