"""Random worlds of people, groups, sources, documents and grants, for property-based leak tests.

``allowed`` states the visibility rule a third time, in plain Python and straight from its wording
in DESIGN.md, so the application filter and the RLS policy are each checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from hypothesis import strategies as st

from accounts.models import Role, User
from core.rls import acting_as_system
from knowledge.models import Document, Source
from knowledge.services.acls import AclEntryRead, document_acl_replace
from knowledge.services.grants import grant_create
from tests.factories import DocumentFactory, GroupFactory, SourceFactory, UserFactory


@dataclass(frozen=True)
class World:
    users: int
    groups: int
    sources: int
    memberships: frozenset[tuple[int, int]]  # (user, group)
    user_grants: frozenset[tuple[int, str, int]]  # (user, "source" | "document", index)
    group_grants: frozenset[tuple[int, str, int]]  # (group, "source" | "document", index)
    staff_sources: frozenset[int]
    staff_documents: frozenset[int]
    document_source: tuple[int, ...]
    admin: int | None  # the one user who is a knowledge admin, if any
    deactivated: int | None = None  # the one user whose account is deactivated, if any (maybe the admin)
    acl_sources: frozenset[int] = frozenset()  # sources whose permissions come from the source's ACLs
    # (document, allow, "user" | "group" | "everyone" | "nobody", index): ACL entries as read; they
    # count only on documents of acl_sources. "nobody" is an entry that maps to no one in Enclave.
    acl_entries: frozenset[tuple[int, bool, str, int]] = frozenset()


def worlds(
    *,
    users: int,
    groups: int,
    sources: int,
    documents: int,
    admins: bool,
    deactivated: bool = False,
    acls: bool = False,
) -> st.SearchStrategy[World]:
    def grants_to(count: int) -> st.SearchStrategy[tuple[int, str, int]]:
        target = st.one_of(
            st.tuples(st.just("source"), st.integers(0, sources - 1)),
            st.tuples(st.just("document"), st.integers(0, documents - 1)),
        )
        return st.tuples(st.integers(0, count - 1), target).map(lambda pair: (pair[0], *pair[1]))

    return st.builds(
        World,
        users=st.just(users),
        groups=st.just(groups),
        sources=st.just(sources),
        memberships=st.frozensets(st.tuples(st.integers(0, users - 1), st.integers(0, groups - 1))),
        user_grants=st.frozensets(grants_to(users), max_size=6),
        group_grants=st.frozensets(grants_to(groups), max_size=4),
        staff_sources=st.frozensets(st.integers(0, sources - 1), max_size=1),
        staff_documents=st.frozensets(st.integers(0, documents - 1), max_size=1),
        document_source=st.tuples(*[st.integers(0, sources - 1)] * documents),
        admin=st.one_of(st.none(), st.integers(0, users - 1)) if admins else st.none(),
        deactivated=st.one_of(st.none(), st.integers(0, users - 1)) if deactivated else st.none(),
        acl_sources=st.frozensets(st.integers(0, sources - 1)) if acls else st.just(frozenset()),
        acl_entries=st.frozensets(acl_entries(users, groups, documents), max_size=8) if acls else st.just(frozenset()),
    )


def acl_entries(users: int, groups: int, documents: int) -> st.SearchStrategy[tuple[int, bool, str, int]]:
    principal = st.one_of(
        st.tuples(st.just("user"), st.integers(0, users - 1)),
        st.tuples(st.just("group"), st.integers(0, groups - 1)),
        st.tuples(st.sampled_from(["everyone", "nobody"]), st.just(0)),
    )
    return st.tuples(st.integers(0, documents - 1), st.booleans(), principal).map(lambda t: (t[0], t[1], *t[2]))


def allowed(world: World, user: int) -> set[int]:
    """Indexes of the documents the rule lets ``user`` see."""
    if world.deactivated == user:
        return set()
    if world.admin == user:
        return set(range(len(world.document_source)))
    groups = {g for (u, g) in world.memberships if u == user}
    admitted = set()
    for doc, source in enumerate(world.document_source):
        targets = {("source", source), ("document", doc)}
        if (
            doc in world.staff_documents
            or source in world.staff_sources
            or any((user, *t) in world.user_grants for t in targets)
            or any((g, *t) in world.group_grants for g in groups for t in targets)
            or any(acl_names(world, user, groups, doc, allow=True))
        ) and not any(acl_names(world, user, groups, doc, allow=False)):
            admitted.add(doc)  # deny wins: a deny entry naming the user shuts them out whatever admits them
    return admitted


def acl_names(world: World, user: int, groups: set[int], doc: int, *, allow: bool) -> list[tuple[str, int]]:
    """The ACL entries of ``doc`` (if its source's ACLs count) that name ``user``, allowing or denying."""
    if world.document_source[doc] not in world.acl_sources:
        return []
    names = {("user", user), ("everyone", 0), *(("group", g) for g in groups)}
    return [(kind, i) for (d, a, kind, i) in world.acl_entries if d == doc and a == allow and (kind, i) in names]


def build(world: World) -> tuple[list[User], list[Document]]:
    """The world in the database, as users and documents in index order."""
    users = [
        UserFactory.create(
            role=Role.KNOWLEDGE_ADMIN if world.admin == i else Role.STAFF, is_active=world.deactivated != i
        )
        for i in range(world.users)
    ]
    groups = [GroupFactory.create() for _ in range(world.groups)]
    for u, g in world.memberships:
        users[u].groups.add(groups[g])
    with acting_as_system():
        sources = [SourceFactory.create(visible_to_all_staff=i in world.staff_sources) for i in range(world.sources)]
        documents = [
            DocumentFactory.create(source=sources[s], visible_to_all_staff=i in world.staff_documents)
            for i, s in enumerate(world.document_source)
        ]
        on: dict[str, list[Any]] = {"source": sources, "document": documents}
        for u, kind, index in world.user_grants:
            grant_create(user=users[u], **{kind: on[kind][index]})
        for g, kind, index in world.group_grants:
            grant_create(group=groups[g], **{kind: on[kind][index]})
        for s, source in enumerate(sources):
            if s in world.acl_sources:
                source.permissions_from = Source.PermissionsFrom.SOURCE
                source.save(update_fields=["permissions_from"])
        for d, document in enumerate(documents):
            entries = [
                acl_entry(allow, kind, i, users, groups) for (e, allow, kind, i) in sorted(world.acl_entries) if e == d
            ]
            document_acl_replace(document=document, entries=entries)
    return users, documents


def acl_entry(allow: bool, kind: str, index: int, users: list[User], groups: list[Group]) -> AclEntryRead:
    named = {
        "user": {"user": users[index]} if kind == "user" else {},
        "group": {"group": groups[index]} if kind == "group" else {},
        "everyone": {"everyone": True},
        "nobody": {},
    }[kind]
    return AclEntryRead(allow=allow, as_read=f"{kind} {index}", **named)  # type: ignore[arg-type]
