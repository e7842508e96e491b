"""Search never leaks: random worlds of people, groups, grants and chunks, checked pair by pair.

For every user, the vector search for a broad query (k larger than the corpus) must return exactly
the chunks the rule allows, computed here in plain Python; and each chunk must be found by a keyword
query naming it (its unique word) exactly when the rule allows it. 60 examples x 4 users x 10
chunks: 2,400 (user, chunk) pairs checked each way per run.
"""

from __future__ import annotations

import random

import pytest
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Value
from hypothesis import HealthCheck, given, settings

from core.rls import acting_as_system
from knowledge.models import Chunk, Document
from knowledge.selectors import search as search_module
from knowledge.selectors.search import chunk_search
from knowledge.services.embeddings import current_model
from tests.security.worlds import World, allowed, build, worlds

CHUNKS_PER_DOCUMENT = 2


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
                embedding=[rng.gauss(0, 1) for _ in range(current_model().dimensions)],
                embedding_model=current_model().name,
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
@given(world=worlds(users=4, groups=3, sources=3, documents=5, admins=False, acls=True))
def test_search_returns_exactly_what_the_rule_allows(world: World, walls: str) -> None:
    with transaction.atomic():
        users, documents = build(world)
        with acting_as_system():
            # The vectors' values do not matter here: only which chunks come back.
            chunk_document, chunk_word = _chunks(documents, random.Random(0))
        query_vector = [1.0] * current_model().dimensions
        for index, user in enumerate(users):
            visible = {c for c, doc in chunk_document.items() if doc in allowed(world, index)}
            broad = chunk_search(
                fetched_by=user, query="", query_vector=query_vector, k=len(chunk_document) + 5, mode="dense"
            )
            assert {hit.chunk.pk for hit in broad} == visible, index
            for chunk_id, word in chunk_word.items():
                found = {hit.chunk.pk for hit in chunk_search(fetched_by=user, query=word, k=5, mode="keyword")}
                assert (chunk_id in found) == (chunk_id in visible), (index, word)
        transaction.set_rollback(True)
