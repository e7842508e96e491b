"""The visibility rule, written once: one policy object answers every question about who may see what.

A user may see a document when the user is an active knowledge admin (or superuser), or the
document or its source is granted to the user or to a group the user belongs to, or the document
or its source is visible to all staff.

Both sides of the rule are spelled in *principals*, short strings naming who is asking: ``"staff"``
for every active user, ``"u:<id>"`` for the user, ``"g:<id>"`` for each of their groups, and ``"*"``
for knowledge admins. A document admits the principals its grants and flags name, plus ``"*"``;
a user may see it when the two sets overlap. Each kind of principal is declared once below (a
``PrincipalKind``: the user side, the document side, who holds it, and how it reads in words), and
``VisibilityPolicy`` derives every answer from those declarations:

- many documents: ``restrict`` / ``visible_filter`` for the ORM, ``Restriction.sql`` for the
  ranking SQL of search (the same GIN-indexed overlap);
- one document: ``admits``, ``reasons`` (in words), ``audience`` (every user who may see it, and why);
- the admin console and API: ``is_admin``, ``require_admin``, ``admin_only``.

The SQL side says the same in the database and is the second wall, which does not trust this
module: the triggers of migration 0002 keep a ``principals`` column on documents and chunks from
``enclave_document_principals()``, and the row-level security read policy (migration 0005) is
``principals && enclave_user_principals()``. Adding a kind of principal: see knowledge/README.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User, is_knowledge_admin
from core.types import AnyUser

if TYPE_CHECKING:
    # Annotations only: knowledge.models imports this module (through querysets.py), so at run time
    # grants are reached through the document's relations instead.
    from knowledge.models import AclEntry, Document, Grant

ALL_STAFF = "staff"
EVERYTHING = "*"

_QS = TypeVar("_QS", bound=QuerySet[Any])


@dataclass(frozen=True)
class Admission:
    """One thing that lets a principal see a document (a flag, a grant, an ACL entry, or the admin
    wildcard), with how it reads; or, with ``denies``, a deny entry that shuts the principal out
    whatever else admits it."""

    principal: str
    kind: PrincipalKind = field(repr=False)
    rank: tuple[int, int]  # the order reasons are told in: admins, flags, grants oldest first, ACL entries
    reason: str  # about the document, for one user: "granted the source 'hr' through the group 'hr'"
    label: str  # the same in the list of who can see the document ("knowledge admin")
    short: str  # the same next to the source or document it is on ("through the group 'hr'")
    denies: bool = False


class PrincipalKind(ABC):
    """One kind of principal, declared in one place.

    ``held_by`` is the user side (what ``enclave_user_principals()`` returns in SQL), ``admissions``
    the document side (what ``enclave_document_principals()`` puts in the ``principals`` column), and
    ``holders`` the way back from principals to users, for "who can see this document".
    """

    @abstractmethod
    def held_by(self, user: User) -> list[str]:
        """The principals of this kind that an active user holds."""

    @abstractmethod
    def admissions(self, document: Document, grants: Sequence[Grant]) -> list[Admission]:
        """What on ``document`` admits principals of this kind (``grants``: those on it or its source)."""

    @abstractmethod
    def holders(self, principals: Sequence[str]) -> Q:
        """A filter over users holding any of ``principals`` (all of this kind), active or not."""


class AdminWildcard(PrincipalKind):
    """``"*"``: every document admits it and only knowledge admins hold it. It is what keeps the row-level
    security read policy a single indexable overlap (migration 0005)."""

    def held_by(self, user: User) -> list[str]:
        return [EVERYTHING] if user.is_knowledge_admin else []

    def admissions(self, document: Document, grants: Sequence[Grant]) -> list[Admission]:
        reason = "is a knowledge admin, who may see every document"
        return [Admission(EVERYTHING, self, (0, 0), reason, label="knowledge admin", short=reason)]

    def holders(self, principals: Sequence[str]) -> Q:
        return User.knowledge_admins()


class AllStaff(PrincipalKind):
    """``"staff"``: every active user holds it; a document admits it when the document or its source is
    visible to all staff."""

    short = "visible to all staff"

    def held_by(self, user: User) -> list[str]:
        return [ALL_STAFF]

    def admissions(self, document: Document, grants: Sequence[Grant]) -> list[Admission]:
        flags = [
            (document.visible_to_all_staff, "the document is visible to all staff"),
            (document.source.visible_to_all_staff, f"the source {document.source.name!r} is visible to all staff"),
        ]
        return [
            Admission(ALL_STAFF, self, (1, position), reason, label=reason, short=self.short)
            for position, (flagged, reason) in enumerate(flags)
            if flagged
        ]

    def holders(self, principals: Sequence[str]) -> Q:
        return Q(pk__isnull=False)  # everyone (an empty Q would vanish when OR-ed with the others)


class GrantKind(PrincipalKind):
    """A principal named by a grant row: ``<prefix><id>`` from the grant's ``column``."""

    prefix: str
    column: str  # "user" or "group": the grant's foreign key that names the principal

    @abstractmethod
    def how(self, grant: Grant) -> str:
        """How the grant reaches its principal: "directly", "through the group 'hr'"."""

    @abstractmethod
    def short(self, grant: Grant) -> str:
        """The grant's words next to the source or document it is on."""

    def principal(self, pk: int) -> str:
        return f"{self.prefix}{pk}"

    def ids(self, principals: Sequence[str]) -> list[int]:
        return [int(p.removeprefix(self.prefix)) for p in principals if p.startswith(self.prefix)]

    def owns(self, grant: Grant) -> bool:
        return getattr(grant, f"{self.column}_id") is not None

    def admit(self, grant: Grant) -> Admission:
        on = f"the source {grant.source.name!r}" if grant.source else "this document"
        reason = f"granted {on} {self.how(grant)}"
        principal = self.principal(getattr(grant, f"{self.column}_id"))
        return Admission(principal, self, (2, grant.pk), reason, label=reason, short=self.short(grant))

    def admissions(self, document: Document, grants: Sequence[Grant]) -> list[Admission]:
        return [self.admit(grant) for grant in grants if self.owns(grant)]

    def grants_to(self, principals: Sequence[str]) -> Q:
        """A filter over grants naming any of ``principals``."""
        return Q(**{f"{self.column}_id__in": self.ids(principals)})


class UserGrants(GrantKind):
    """``"u:<id>"``: the user themself, admitted by a grant to that user."""

    prefix = "u:"
    column = "user"

    def held_by(self, user: User) -> list[str]:
        return [self.principal(user.pk)]

    def holders(self, principals: Sequence[str]) -> Q:
        return Q(pk__in=self.ids(principals))

    def how(self, grant: Grant) -> str:
        return "directly"

    def short(self, grant: Grant) -> str:
        return "granted directly"


class GroupGrants(GrantKind):
    """``"g:<id>"``: each group the user belongs to, admitted by a grant to that group. Directory groups
    (issue 18) are ordinary groups, so they are this kind too."""

    prefix = "g:"
    column = "group"

    def held_by(self, user: User) -> list[str]:
        # .all(), not values_list: it reads groups prefetched for a page of users (the audience).
        return [self.principal(group.pk) for group in user.groups.all()]

    def holders(self, principals: Sequence[str]) -> Q:
        members = User.groups.through.objects.filter(group_id__in=self.ids(principals))
        return Q(pk__in=members.values("user_id"))

    def how(self, grant: Grant) -> str:
        return f"through the group {grant.group.name!r}"  # type: ignore[union-attr]

    def short(self, grant: Grant) -> str:
        return self.how(grant)


class SourceAcl(PrincipalKind):
    """Entries of the document's ACL as read from its source (knowledge.models.AclEntry), for sources
    whose permissions come from the source. They name the principals the other kinds define (a user,
    a group, or everyone as ``"staff"``), so they add no principal a user holds: only admissions,
    allowing or denying."""

    def held_by(self, user: User) -> list[str]:
        return []

    def admissions(self, document: Document, grants: Sequence[Grant]) -> list[Admission]:
        if document.source.permissions_from != document.source.PermissionsFrom.SOURCE:
            return []
        return [self.admit(entry) for entry in document.acl_entries.all() if self.principal(entry)]

    def holders(self, principals: Sequence[str]) -> Q:
        # Each kind's ``holders`` expects principals of its own kind only, so they are sorted first.
        holders = [USER_GRANTS.holders(principals), GROUP_GRANTS.holders(principals)]
        if ALL_STAFF in principals:
            holders.append(ALL_STAFF_FLAGS.holders([ALL_STAFF]))
        return reduce(or_, holders)

    @staticmethod
    def principal(entry: AclEntry) -> str:
        """The principal an entry names; "" for one that maps to nobody Enclave knows."""
        if entry.user_id is not None:
            return f"{USER_GRANTS.prefix}{entry.user_id}"
        if entry.group_id is not None:
            return f"{GROUP_GRANTS.prefix}{entry.group_id}"
        return ALL_STAFF if entry.everyone else ""

    def admit(self, entry: AclEntry) -> Admission:
        inherited = f", inherited from {entry.inherited_from}" if entry.inherited_from else ""
        verb = "allowed" if entry.allow else "denied"
        short = f"through {entry.as_read} ({'allow' if entry.allow else 'deny'}{inherited})"
        reason = f"{verb} by the source's ACL {short}"
        rank = (3, entry.position)
        return Admission(self.principal(entry), self, rank, reason, label=reason, short=short, denies=not entry.allow)


@dataclass(frozen=True)
class Restriction:
    """What one user may see, worked out once per request: the rule's user side, as SQL sees it
    (``enclave_user_principals()``: just ``"*"`` for admins), ready to filter rows with."""

    everything: bool
    principals: list[str]

    @property
    def nothing(self) -> bool:
        return not self.principals

    def q(self) -> Q:
        """A filter for any model with a ``principals`` column (documents, chunks)."""
        if self.everything:
            return Q()
        if self.nothing:
            return Q(pk__in=[])  # Django answers this without a query
        # Deny wins: a row some principal of the user's is denied on is out, whatever admits them.
        return Q(principals__overlap=self.principals) & ~Q(denied__overlap=self.principals)

    def sql(self, alias: str) -> tuple[str, dict[str, Any]] | None:
        """The same filter as a WHERE clause over ``alias`` (a table with ``principals`` and ``denied``
        columns), or None when nothing is filtered. A GIN-indexed array overlap, with the deny check
        on the rows it finds: this is what search embeds in its ranking SQL."""
        if not alias.isidentifier():
            raise ValueError(f"not a table alias: {alias!r}")
        if self.everything:
            return None
        clause = f"{alias}.principals && %(principals)s::text[] AND NOT {alias}.denied && %(principals)s::text[]"
        return clause, {"principals": self.principals}


@dataclass(frozen=True)
class Audience:
    """Who may see one document now. ``users`` is not evaluated yet: count it, or take a page of it
    with ``prefetch_related("groups")`` for ``reasons_of``."""

    admissions: list[Admission]  # what admits someone (denials are kept apart, in ``denials``)
    users: QuerySet[User]
    policy: VisibilityPolicy = field(repr=False)
    denials: list[Admission] = field(default_factory=list)  # deny entries: their holders are not in ``users``

    @property
    def all_staff_reason(self) -> str:
        """Why every active user may see it ("" if not): the first such reason, which the pages headline."""
        return next((a.reason for a in self.admissions if a.principal == ALL_STAFF), "")

    def reasons_of(self, user: User) -> list[str]:
        """Why ``user`` may see the document: the all-staff reason once and first, then the rest."""
        held = set(self.policy.principals_of(user))
        rest = [a.label for a in self.admissions if a.principal in held and a.principal != ALL_STAFF]
        everyone = self.all_staff_reason
        return [everyone, *rest] if everyone else rest


class VisibilityPolicy:
    """Every access question about documents, answered from the kinds of principal it is given
    (Wagtail's permission policies and NetBox's ``RestrictedQuerySet.restrict`` are the models)."""

    def __init__(self, kinds: Sequence[PrincipalKind]) -> None:
        self.kinds = tuple(kinds)
        self.grant_kinds = tuple(kind for kind in self.kinds if isinstance(kind, GrantKind))

    # --- Who is asking -----------------------------------------------------------------------------

    def is_admin(self, user: AnyUser) -> bool:
        """Knowledge admins manage every document, so they may see every document."""
        return is_knowledge_admin(user)

    def require_admin(self, user: AnyUser, message: str = "Not found.") -> None:
        """Raise not-found for anyone but a knowledge admin: to them an admin page does not exist."""
        if not self.is_admin(user):
            raise Http404(message)

    def admin_only(self, queryset: _QS, user: AnyUser) -> _QS:
        """``queryset`` for knowledge admins, nothing for anyone else."""
        return queryset if self.is_admin(user) else queryset.none()

    def principals_of(self, user: AnyUser) -> list[str]:
        """Every principal a user holds; empty for anonymous and deactivated users. Admins hold "*" as
        well as their own, so that the reasons name everything that admits them."""
        if not isinstance(user, User) or not user.is_active:
            return []
        return [principal for kind in self.kinds for principal in kind.held_by(user)]

    def restriction(self, user: AnyUser) -> Restriction:
        if self.is_admin(user):
            return Restriction(everything=True, principals=[EVERYTHING])
        return Restriction(everything=False, principals=self.principals_of(user))

    # --- Many documents ----------------------------------------------------------------------------

    def visible_filter(self, user: AnyUser) -> Q:
        """A filter for any model with a ``principals`` column (documents, chunks)."""
        return self.restriction(user).q()

    def restrict(self, queryset: _QS, user: AnyUser) -> _QS:
        """The rows of ``queryset`` (documents or chunks) that ``user`` may see."""
        return queryset.filter(self.visible_filter(user))

    # --- One document ------------------------------------------------------------------------------

    def admissions(self, document: Document) -> list[Admission]:
        """Everything that admits someone to ``document``, or denies them, in the order reasons are told."""
        grants = [*document.grants.select_related("group"), *document.source.grants.select_related("group")]
        grants.sort(key=lambda grant: grant.pk)
        found = [admission for kind in self.kinds for admission in kind.admissions(document, grants)]
        return sorted(found, key=lambda admission: admission.rank)

    def document_principals(self, document: Document) -> list[str]:
        """What ``enclave_document_principals()`` stores in the document's ``principals`` column."""
        return sorted({a.principal for a in self.admissions(document) if not a.denies})

    def document_denied(self, document: Document) -> list[str]:
        """What ``enclave_document_denied()`` stores in the document's ``denied`` column."""
        return sorted({a.principal for a in self.admissions(document) if a.denies})

    def admits(self, user: AnyUser, document: Document) -> bool:
        return bool(self.reasons(user, document))

    def reasons(self, user: AnyUser, document: Document) -> list[str]:
        """Every reason ``user`` may see ``document``; an empty list means they may not."""
        held = set(self.principals_of(user))
        admissions = self.admissions(document) if held else []
        if self._denied(user, held, admissions):
            return []
        return [a.reason for a in admissions if a.principal in held and not a.denies]

    def denials(self, user: AnyUser, document: Document) -> list[str]:
        """The deny entries that shut ``user`` out of ``document``, in words (none for admins)."""
        held = set(self.principals_of(user))
        admissions = self.admissions(document) if held else []
        return (
            [a.reason for a in admissions if a.denies and a.principal in held]
            if self._denied(user, held, admissions)
            else []
        )

    def _denied(self, user: AnyUser, held: set[str], admissions: Sequence[Admission]) -> bool:
        """Deny wins over every allow but the admin wildcard (in SQL, admins hold only "*")."""
        return not self.is_admin(user) and any(a.denies and a.principal in held for a in admissions)

    def audience(self, document: Document) -> Audience:
        """Every active user who may see ``document``, in a few queries whatever the number of users."""
        found = self.admissions(document)
        admissions = [a for a in found if not a.denies]
        denials = [a for a in found if a.denies]
        users = User.objects.filter(is_active=True).filter(self._holders(admissions))
        if denials:
            # Deny wins, except over the admin wildcard: knowledge admins hold only "*" in SQL.
            users = users.exclude(self._holders(denials) & ~User.knowledge_admins())
        return Audience(admissions, users, self, denials)

    @staticmethod
    def _holders(admissions: Sequence[Admission]) -> Q:
        by_kind: dict[PrincipalKind, list[str]] = {}
        for admission in admissions:
            by_kind.setdefault(admission.kind, []).append(admission.principal)
        return reduce(or_, (kind.holders(principals) for kind, principals in by_kind.items()), Q(pk__in=[]))

    # --- One user: what they may see ---------------------------------------------------------------

    def grants_held_by(self, user: AnyUser) -> Q:
        """A filter over grants that admit ``user`` (nothing for anonymous and deactivated users)."""
        principals = self.principals_of(user)
        return reduce(or_, (kind.grants_to(principals) for kind in self.grant_kinds), Q(pk__in=[]))

    def admission_of(self, grant: Grant) -> Admission:
        """What ``grant`` admits, and how it reads."""
        return next(kind.admit(grant) for kind in self.grant_kinds if kind.owns(grant))


ADMIN_WILDCARD = AdminWildcard()
ALL_STAFF_FLAGS = AllStaff()
USER_GRANTS = UserGrants()
GROUP_GRANTS = GroupGrants()

SOURCE_ACL = SourceAcl()

visibility = VisibilityPolicy([ADMIN_WILDCARD, ALL_STAFF_FLAGS, USER_GRANTS, GROUP_GRANTS, SOURCE_ACL])

# Two answers under the names benches and tests have long used.
principals_of = visibility.principals_of
visible_filter = visibility.visible_filter
