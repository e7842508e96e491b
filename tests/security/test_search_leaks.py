"""Search never leaks: random worlds of people, groups, grants and chunks, checked pair by pair.

For every user, the vector search for a broad query (k larger than the corpus) must return exactly
the chunks the rule allows, computed here in plain Python; and each chunk must be found by a keyword
query naming it (its unique word) exactly when the rule allows it. 60 examples x 4 users x 10
chunks: 2,400 (user, chunk) pairs checked each way per run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.models import EMBEDDING_DIMENSIONS, Chunk, Document
from knowledge.rls import acting_as_system
from knowledge.selectors import search as search_module
from knowledge.selectors.search import chunk_search
from knowledge.services.grants import grant_create
from tests.factories import DocumentFactory, GroupFactory, SourceFactory, UserFactory

USERS, GROUPS, SOURCES, DOCUMENTS, CHUNKS_PER_DOCUMENT = 4, 3, 3, 5, 2


@dataclass(frozen=True)
class World:
    memberships: frozenset[tuple[int, int]]
    user_grants: frozenset[tuple[int, str, int]]
    group_grants: frozenset[tuple[int, str, int]]
    staff_sources: frozenset[int]
    staff_documents: frozenset[int]
    document_source: tuple[int, ...]
    seed: int


def grants_to(count: int) -> st.SearchStrategy[tuple[int, str, int]]:
    target = st.one_of(
        st.tuples(st.just("source"), st.integers(0, SOURCES - 1)),
        st.tuples(st.just("document"), st.integers(0, DOCUMENTS - 1)),
    )
    return st.tuples(st.integers(0, count - 1), target).map(lambda pair: (pair[0], *pair[1]))


worlds = st.builds(
    World,
    memberships=st.frozensets(st.tuples(st.integers(0, USERS - 1), st.integers(0, GROUPS - 1))),
    user_grants=st.frozensets(grants_to(USERS), max_size=6),
    group_grants=st.frozensets(grants_to(GROUPS), max_size=4),
    staff_sources=st.frozensets(st.integers(0, SOURCES - 1), max_size=1),
    staff_documents=st.frozensets(st.integers(0, DOCUMENTS - 1), max_size=1),
    document_source=st.tuples(*[st.integers(0, SOURCES - 1)] * DOCUMENTS),
    seed=st.integers(0, 2**16),
)


def allowed(world: World, user: int) -> set[int]:
    """Document indexes the rule admits, from its wording in DESIGN.md."""
    groups = {g for (u, g) in world.memberships if u == user}
    admitted = set()
    for doc, source in enumerate(world.document_source):
        targets = {("source", source), ("document", doc)}
        if (
            doc in world.staff_documents
            or source in world.staff_sources
            or any((user, *t) in world.user_grants for t in targets)
            or any((g, *t) in world.group_grants for g in groups for t in targets)
        ):
            admitted.add(doc)
    return admitted


def build(world: World) -> tuple[list, dict[int, int], dict[int, str]]:  # type: ignore[type-arg]
    rng = random.Random(world.seed)
    users = [UserFactory.create() for _ in range(USERS)]
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
        chunk_document, chunk_word = _chunks(documents, rng)
    return users, chunk_document, chunk_word


def _chunks(documents: list[Document], rng: random.Random) -> tuple[dict[int, int], dict[int, str]]:
    chunk_document, chunk_word = {}, {}
    for index, document in enumerate(documents):
        for ordinal in range(CHUNKS_PER_DOCUMENT):
            word = f"zq{document.pk}x{ordinal}"  # unique, so a keyword query names exactly this chunk
            text = f"{word} shared words about leave and travel"
            chunk = Chunk.objects.create(
                document=document,
                ordinal=ordinal,
                text=text,
                embedding=[rng.gauss(0, 1) for _ in range(EMBEDDING_DIMENSIONS)],
                embedding_model="random",
                search_vector=SearchVector(Value(text), config="english"),
            )
            chunk_document[chunk.pk], chunk_word[chunk.pk] = index, word
    return chunk_document, chunk_word


@pytest.fixture(params=["both walls", "SQL filter alone"])
def walls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each world twice: as deployed, and with row-level security opened up (the system
    context) so that the filter inside the ranking SQL must hold the line by itself."""
    if request.param == "SQL filter alone":
        monkeypatch.setattr(search_module, "acting_as", lambda user: acting_as_system())
    return str(request.param)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds)
def test_search_returns_exactly_what_the_rule_allows(world: World, walls: str) -> None:
    with transaction.atomic():
        users, chunk_document, chunk_word = build(world)
        for index, user in enumerate(users):
            visible = {c for c, doc in chunk_document.items() if doc in allowed(world, index)}
            broad = chunk_search(fetched_by=user, query="leave and travel", k=len(chunk_document) + 5, mode="dense")
            assert {hit.chunk.pk for hit in broad} == visible, index
            for chunk_id, word in chunk_word.items():
                found = {hit.chunk.pk for hit in chunk_search(fetched_by=user, query=word, k=5, mode="keyword")}
                assert (chunk_id in found) == (chunk_id in visible), (index, word)
        transaction.set_rollback(True)
