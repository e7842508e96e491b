"""Why a user can, or cannot, see a document, who can see a document, and what a user can see:
the grants and flags that admit them, in words. For knowledge admins only.

The visibility policy (knowledge/permissions.py) decides and words every reason; these selectors
check the caller, fetch, and shape the answers for the pages and the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from accounts.models import User
from knowledge.models import AclEntry, Document, Grant, Source
from knowledge.permissions import ALL_STAFF_FLAGS, AnyUser, visibility


def document_access_reasons(*, fetched_by: AnyUser, user: User, document: Document) -> list[str]:
    """Every reason ``user`` may see ``document``; an empty list means they may not.

    For knowledge admins (``fetched_by``), who may inspect anyone's access; others get "not found".
    """
    visibility.require_admin(fetched_by, "No such document.")
    return visibility.reasons(user, document)


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
class AclLine:
    """One entry of the document's ACL as read from its source, and what it became in Enclave."""

    as_read: str
    allow: bool
    inherited_from: str
    became: str  # "group hr", "user bob", "all staff", or that it maps to nobody


@dataclass(frozen=True)
class DocumentAudience:
    """Who can see a document now, and why. ``viewers`` is capped; ``viewer_count`` is not.

    ``acl`` is the source's ACL as read; it decides only when ``acl_counts`` (the source's
    permissions come from the source). ``denied`` names the deny entries that shut people out."""

    all_staff_reason: str
    grants: list[GrantLine]
    viewers: list[Viewer]
    viewer_count: int
    acl_counts: bool = False
    acl: list[AclLine] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)


AUDIENCE_VIEWERS_SHOWN = 500


def document_audience(*, fetched_by: AnyUser, document: Document) -> DocumentAudience:
    """Every active user who may see ``document``, each with the grants or flags that admit them.

    For knowledge admins only; others get "not found". Counted in a handful of queries whatever
    the number of users, so the page stays quick for a document visible to all staff.
    """
    visibility.require_admin(fetched_by, "No such document.")
    audience = visibility.audience(document)
    shown = audience.users.order_by("username").prefetch_related("groups")[:AUDIENCE_VIEWERS_SHOWN]
    viewers = [Viewer(user.pk, user.get_username(), audience.reasons_of(user)) for user in shown]
    grants = (
        Grant.objects.select_related("user", "group", "source", "granted_by")
        .filter(Q(document=document) | Q(source_id=document.source_id))
        .order_by("id")
    )
    lines = [_grant_line(grant) for grant in grants]
    acl = [_acl_line(entry) for entry in document.acl_entries.select_related("user", "group")]
    return DocumentAudience(
        audience.all_staff_reason,
        lines,
        viewers,
        audience.users.count(),
        acl_counts=document.source.permissions_from == Source.PermissionsFrom.SOURCE,
        acl=acl,
        denied=[denial.label for denial in audience.denials],
    )


def _acl_line(entry: AclEntry) -> AclLine:
    if entry.user is not None:
        became = f"user {entry.user.get_username()}"
    elif entry.group is not None:
        became = f"group {entry.group.name}"
    else:
        became = "all staff" if entry.everyone else "nobody: it maps to no Enclave user or group"
    return AclLine(entry.as_read, entry.allow, entry.inherited_from, became)


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
    visibility.require_admin(fetched_by, "No such user.")
    if not user.is_active:
        return UserAccess("deactivated: sees nothing", [], [], 0)
    count = Document.objects.visible_to(user).count()
    if visibility.is_admin(user):
        return UserAccess("knowledge admin: sees every document", [], [], count)
    grants = list(
        Grant.objects.select_related("group", "source", "document")
        .filter(visibility.grants_held_by(user))
        .order_by("id")
    )
    sources = _visible_sources(grants)
    documents = _visible_documents(grants, whole_sources={thing.pk for thing in sources})
    return UserAccess("", sources, documents, count)


def _visible_sources(grants: list[Grant]) -> list[VisibleThing]:
    reasons: dict[Source, list[str]] = defaultdict(list)
    for source in Source.objects.filter(visible_to_all_staff=True):
        reasons[source].append(ALL_STAFF_FLAGS.short)
    for grant in grants:
        if grant.source is not None:
            reasons[grant.source].append(visibility.admission_of(grant).short)
    return sorted((VisibleThing(s.pk, s.name, r) for s, r in reasons.items()), key=lambda t: t.name.lower())


def _visible_documents(grants: list[Grant], *, whole_sources: set[int]) -> list[VisibleThing]:
    """Documents visible on their own account, beyond the sources already listed."""
    reasons: dict[Document, list[str]] = defaultdict(list)
    flagged = Document.objects.filter(visible_to_all_staff=True).exclude(source_id__in=whole_sources)
    for document in flagged.order_by("title")[:USER_ACCESS_DOCUMENTS_SHOWN]:
        reasons[document].append(ALL_STAFF_FLAGS.short)
    for grant in grants:
        if grant.document is not None and grant.document.source_id not in whole_sources:
            reasons[grant.document].append(visibility.admission_of(grant).short)
    return sorted((VisibleThing(d.pk, d.title, r) for d, r in reasons.items()), key=lambda t: t.name.lower())
