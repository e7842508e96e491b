"""The rule three ways: its plain definition, the application's filter, and PostgreSQL's RLS policy.

For random worlds of users, groups, memberships, grants and "all staff" flags, each user must see
exactly the documents the definition admits, through the application's filter alone (RLS opened up
by the system context) and through row-level security alone (no application filter at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from knowledge.models import Document
from knowledge.permissions import visible_filter
from knowledge.rls import acting_as, acting_as_system
from knowledge.services.grants import grant_create
from tests.factories import DocumentFactory, GroupFactory, SourceFactory, UserFactory

USERS, GROUPS, SOURCES, DOCUMENTS = 3, 2, 2, 4


@dataclass(frozen=True)
class World:
    memberships: frozenset[tuple[int, int]]  # (user, group)
    user_grants: frozenset[tuple[int, str, int]]  # (user, "source" | "document", index)
    group_grants: frozenset[tuple[int, str, int]]
    staff_sources: frozenset[int]
    staff_documents: frozenset[int]
    document_source: tuple[int, ...]
    admin: int | None


def targets() -> st.SearchStrategy[tuple[str, int]]:
    return st.one_of(
        st.tuples(st.just("source"), st.integers(0, SOURCES - 1)),
        st.tuples(st.just("document"), st.integers(0, DOCUMENTS - 1)),
    )


def grants_to(principals: int) -> st.SearchStrategy[tuple[int, str, int]]:
    return st.tuples(st.integers(0, principals - 1), targets()).map(lambda pair: (pair[0], *pair[1]))


worlds = st.builds(
    World,
    memberships=st.frozensets(st.tuples(st.integers(0, USERS - 1), st.integers(0, GROUPS - 1))),
    user_grants=st.frozensets(grants_to(USERS), max_size=5),
    group_grants=st.frozensets(grants_to(GROUPS), max_size=4),
    staff_sources=st.frozensets(st.integers(0, SOURCES - 1), max_size=1),
    staff_documents=st.frozensets(st.integers(0, DOCUMENTS - 1), max_size=1),
    document_source=st.tuples(*[st.integers(0, SOURCES - 1)] * DOCUMENTS),
    admin=st.one_of(st.none(), st.integers(0, USERS - 1)),
)


def expected_by_definition(world: World, user: int) -> set[int]:
    """Which document indexes the rule admits, straight from its wording in DESIGN.md."""
    if world.admin == user:
        return set(range(DOCUMENTS))
    groups = {g for (u, g) in world.memberships if u == user}
    seen = set()
    for doc, source in enumerate(world.document_source):
        granted = {("source", source), ("document", doc)}
        if (
            doc in world.staff_documents
            or source in world.staff_sources
            or any((user, *t) in world.user_grants for t in granted)
            or any((g, *t) in world.group_grants for g in groups for t in granted)
        ):
            seen.add(doc)
    return seen


def build(world: World) -> tuple[list[User], list[Document]]:
    users = [UserFactory.create(role="knowledge_admin" if world.admin == i else "staff") for i in range(USERS)]
    groups = [GroupFactory.create() for _ in range(GROUPS)]
    for u, g in world.memberships:
        users[u].groups.add(groups[g])
    with acting_as_system():
        sources = [SourceFactory.create(visible_to_all_staff=i in world.staff_sources) for i in range(SOURCES)]
        documents = [
            DocumentFactory.create(source=sources[s], visible_to_all_staff=i in world.staff_documents)
            for i, s in enumerate(world.document_source)
        ]
        on: dict[str, list[Any]] = {"source": sources, "document": documents}
        for u, kind, index in world.user_grants:
            grant_create(user=users[u], **{kind: on[kind][index]})
        for g, kind, index in world.group_grants:
            grant_create(group=groups[g], **{kind: on[kind][index]})
    return users, documents


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds)
def test_filter_and_policy_both_match_the_definition(world: World) -> None:
    with transaction.atomic():
        users, documents = build(world)
        index_of = {d.pk: i for i, d in enumerate(documents)}
        for i, user in enumerate(users):
            expected = expected_by_definition(world, i)
            with acting_as_system():  # RLS admits everything: only the application filter decides
                by_filter = {
                    index_of[pk] for pk in Document.objects.filter(visible_filter(user)).values_list("pk", flat=True)
                }
            with acting_as(user):  # no application filter: only RLS decides
                by_policy = {index_of[pk] for pk in Document.objects.values_list("pk", flat=True)}
            assert by_filter == expected, f"application filter for user {i}"
            assert by_policy == expected, f"row-level security for user {i}"
        transaction.set_rollback(True)
