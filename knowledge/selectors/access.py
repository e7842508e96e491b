"""Why a user can, or cannot, see a document, who can see a document, and what a user can see:
the grants and flags that admit them, in words. For knowledge admins only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.http import Http404

from accounts.models import Role, User
from knowledge.models import Document, Grant, Source
from knowledge.permissions import AnyUser, sees_everything, visible_filter


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


@dataclass(frozen=True)
class GrantLine:
    """One grant, in words: to whom, on what, by whom and when."""

    grant_id: int
    who: str
    on: str
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class Viewer:
    user_id: int
    username: str
    reasons: list[str]


@dataclass(frozen=True)
class DocumentAudience:
    """Who can see a document now, and why. ``viewers`` is capped; ``viewer_count`` is not."""

    all_staff_reason: str
    grants: list[GrantLine]
    viewers: list[Viewer]
    viewer_count: int


AUDIENCE_VIEWERS_SHOWN = 500


def document_audience(*, fetched_by: AnyUser, document: Document) -> DocumentAudience:
    """Every active user who may see ``document``, each with the grants or flags that admit them.

    For knowledge admins only; others get "not found". Counted in a handful of queries whatever
    the number of users, so the page stays quick for a document visible to all staff.
    """
    if not sees_everything(fetched_by):
        raise Http404("No such document.")
    all_staff = _all_staff_reason(document)
    grants = list(
        Grant.objects.select_related("user", "group", "source", "granted_by")
        .filter(Q(document=document) | Q(source_id=document.source_id))
        .order_by("id")
    )
    reasons: dict[int, list[str]] = defaultdict(list)
    for user_id in _knowledge_admin_ids():
        reasons[user_id].append("knowledge admin")
    for grant in grants:
        for user_id in _members_admitted_by(grant):
            reasons[user_id].append(_describe(grant))
    active = User.objects.filter(is_active=True)
    audience = active if all_staff else active.filter(pk__in=list(reasons))
    users = list(audience.order_by("username").values_list("pk", "username")[:AUDIENCE_VIEWERS_SHOWN])
    everyone = [all_staff] if all_staff else []
    viewers = [Viewer(pk, name, everyone + reasons.get(pk, [])) for pk, name in users]
    return DocumentAudience(all_staff, [_grant_line(g) for g in grants], viewers, audience.count())


def _all_staff_reason(document: Document) -> str:
    if document.visible_to_all_staff:
        return "the document is visible to all staff"
    if document.source.visible_to_all_staff:
        return f"the source {document.source.name!r} is visible to all staff"
    return ""


def _knowledge_admin_ids() -> list[int]:
    admins = User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(role=Role.KNOWLEDGE_ADMIN))
    return list(admins.values_list("pk", flat=True))


def _members_admitted_by(grant: Grant) -> list[int]:
    if grant.user_id is not None:
        return [grant.user_id]
    members = User.groups.through.objects.filter(group_id=grant.group_id or 0)
    return list(members.values_list("user_id", flat=True))


def _grant_line(grant: Grant) -> GrantLine:
    who = f"user {grant.user.get_username()}" if grant.user else f"group {grant.group.name}"  # type: ignore[union-attr]
    on = f"source {grant.source.name}" if grant.source else "this document"
    by = grant.granted_by.get_username() if grant.granted_by else ""
    return GrantLine(grant.pk, who, on, by, grant.created_at)


@dataclass(frozen=True)
class VisibleThing:
    """A source or document a user may see, with every reason."""

    pk: int
    name: str
    reasons: list[str]


@dataclass(frozen=True)
class UserAccess:
    """What a user can see: whole sources, single documents beyond those, and the total."""

    everything_reason: str
    sources: list[VisibleThing]
    documents: list[VisibleThing]
    document_count: int


USER_ACCESS_DOCUMENTS_SHOWN = 500


def user_access(*, fetched_by: AnyUser, user: User) -> UserAccess:
    """What ``user`` may see and why (knowledge admins only; others get "not found")."""
    if not sees_everything(fetched_by):
        raise Http404("No such user.")
    if not user.is_active:
        return UserAccess("deactivated: sees nothing", [], [], 0)
    count = Document.objects.filter(visible_filter(user)).count()
    if user.is_knowledge_admin:
        return UserAccess("knowledge admin: sees every document", [], [], count)
    group_ids = list(user.groups.values_list("pk", flat=True))
    grants = list(
        Grant.objects.select_related("group", "source", "document")
        .filter(Q(user=user) | Q(group_id__in=group_ids))
        .order_by("id")
    )
    sources = _visible_sources(grants)
    documents = _visible_documents(grants, whole_sources={thing.pk for thing in sources})
    return UserAccess("", sources, documents, count)


def _visible_sources(grants: list[Grant]) -> list[VisibleThing]:
    reasons: dict[Source, list[str]] = defaultdict(list)
    for source in Source.objects.filter(visible_to_all_staff=True):
        reasons[source].append("visible to all staff")
    for grant in grants:
        if grant.source is not None:
            reasons[grant.source].append(_through(grant))
    return sorted((VisibleThing(s.pk, s.name, r) for s, r in reasons.items()), key=lambda t: t.name.lower())


def _visible_documents(grants: list[Grant], *, whole_sources: set[int]) -> list[VisibleThing]:
    """Documents visible on their own account, beyond the sources already listed."""
    reasons: dict[Document, list[str]] = defaultdict(list)
    flagged = Document.objects.filter(visible_to_all_staff=True).exclude(source_id__in=whole_sources)
    for document in flagged.order_by("title")[:USER_ACCESS_DOCUMENTS_SHOWN]:
        reasons[document].append("visible to all staff")
    for grant in grants:
        if grant.document is not None and grant.document.source_id not in whole_sources:
            reasons[grant.document].append(_through(grant))
    return sorted((VisibleThing(d.pk, d.title, r) for d, r in reasons.items()), key=lambda t: t.name.lower())


def _through(grant: Grant) -> str:
    return f"through the group {grant.group.name!r}" if grant.group else "granted directly"
