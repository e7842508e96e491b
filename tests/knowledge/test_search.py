"""chunk_search on the demo corpus: relevance in English and Chinese, and the rule inside the ranking."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchVector
from django.db.models import Value
from django.http import Http404
from django.test import Client

from accounts.models import User
from core.rls import acting_as_system
from knowledge.models import Document, Grant, Source
from knowledge.selectors.access import document_access_reasons
from knowledge.selectors.search import SearchFilters, chunk_search
from knowledge.services.grants import grant_create, grant_revoke
from tests.conftest import People
from tests.factories import ChunkFactory, DocumentFactory, SourceFactory
from tests.knowledge.helpers import documents_by_uri

pytestmark = pytest.mark.django_db


def uris(user: User, query: str, **options: object) -> list[str]:
    return [hit.chunk.document.uri for hit in chunk_search(fetched_by=user, query=query, **options)]  # type: ignore[arg-type]


def test_the_best_passage_comes_first_for_those_who_may_see_it(people: People, demo: dict[str, Source]) -> None:
    assert uris(people.bob, "How many days of annual leave do I get?")[0] == "leave-policy.md"
    assert uris(people.alice, "hotel price limit in London")[0] == "expense-policy.md"


def test_outsiders_get_nothing_from_documents_they_may_not_see(people: People, demo: dict[str, Source]) -> None:
    found = uris(people.charlie, "How many days of annual leave do I get?", k=50)
    assert found and set(found) <= {"office-notices.html", "公司通知.md"}
    assert uris(people.bob, "hotel price limit in London", k=50)
    assert not {"expense-policy.md", "报销制度.md"} & set(uris(people.bob, "hotel price limit in London", k=50))


def test_chinese_questions_find_chinese_passages(people: People, demo: dict[str, Source]) -> None:
    assert uris(people.alice, "每年有多少天带薪年假？")[0] == "年假政策.md"
    assert uris(people.alice, "伦敦的酒店住宿标准是多少？")[0] == "报销制度.md"
    # Keyword search alone works for Chinese because both sides are segmented with jieba.
    assert uris(people.alice, "病假需要医疗证明吗", mode="keyword")[0] == "年假政策.md"


def test_filters_narrow_the_search(people: People, demo: dict[str, Source]) -> None:
    only_finance = SearchFilters(source_ids=[demo["finance"].pk])
    assert set(uris(people.alice, "leave", k=20, filters=only_finance)) <= {"expense-policy.md", "报销制度.md"}
    only_html = SearchFilters(formats=["html"])
    assert set(uris(people.alice, "office opening hours", filters=only_html)) == {"office-notices.html"}


def test_exact_and_index_plans_agree(people: People, demo: dict[str, Source], settings) -> None:  # type: ignore[no-untyped-def]
    query = "Who approves salary adjustments above 8%?"
    exact = uris(people.bob, query, mode="dense")
    settings.ENCLAVE_EXACT_SEARCH_MAX_ROWS = 0  # force the HNSW iterative scan
    assert uris(people.bob, query, mode="dense")[:3] == exact[:3]


def test_access_changes_apply_to_the_very_next_search(people: People, demo: dict[str, Source]) -> None:
    question = "How many days of annual leave do I get?"
    assert "leave-policy.md" in uris(people.alice, question)
    with acting_as_system():
        grant_revoke(grant=Grant.objects.get(user=people.alice, source=demo["hr"]))
    assert "leave-policy.md" not in uris(people.alice, question, k=50)

    people.bob.groups.remove(people.hr)
    assert "leave-policy.md" not in uris(people.bob, question, k=50)

    with acting_as_system():
        grant_create(user=people.charlie, source=demo["hr"])
    assert uris(people.charlie, question)[0] == "leave-policy.md"

    with acting_as_system():
        Document.objects.filter(source=demo["hr"], uri="leave-policy.md").delete()
    assert "leave-policy.md" not in uris(people.charlie, question, k=50)


def test_why_a_user_can_or_cannot_see_a_document(people: People, demo: dict[str, Source]) -> None:
    salaries = documents_by_uri(demo["hr"])["salary-bands.md"]
    notice = documents_by_uri(demo["company"])["office-notices.html"]

    def reasons(user: User, document: Document) -> list[str]:
        return document_access_reasons(fetched_by=people.admin, user=user, document=document)

    assert reasons(people.alice, salaries) == ["granted the source 'hr' directly"]
    assert reasons(people.bob, salaries) == ["granted the source 'hr' through the group 'hr'"]
    assert reasons(people.charlie, salaries) == []
    assert reasons(people.charlie, notice) == ["the source 'company' is visible to all staff"]
    with pytest.raises(Http404):
        document_access_reasons(fetched_by=people.alice, user=people.bob, document=salaries)


def test_the_search_endpoint_answers_signed_in_users_only(people: People, demo: dict[str, Source]) -> None:
    """/api/v1/search with the page's session, as with a token (it replaced the page's own /search)."""
    assert Client().get("/api/v1/search", {"q": "leave"}).status_code == 401
    client = Client()
    client.force_login(people.charlie)
    results = client.get("/api/v1/search", {"q": "annual leave days"}).json()["results"]
    assert results and {r["source"] for r in results} == {"company"}
    assert client.get("/api/v1/search", {"q": ""}).status_code == 400
    assert client.get("/api/v1/search", {"q": "leave", "k": "many"}).status_code == 400
    client.force_login(people.bob)
    first = client.get("/api/v1/search", {"q": "annual leave days", "k": "3"}).json()["results"][0]
    assert (first["title"], first["section"]) == ("Leave policy", "Leave policy > Annual leave")
    assert client.get("/search", {"q": "annual leave days"}).status_code == 404  # retired


def test_keyword_ranking_weighs_rare_words_above_repeated_common_ones(people: People) -> None:
    """BM25: one rare word the question shares outweighs a common word said many times."""
    with acting_as_system():
        source = SourceFactory.create(visible_to_all_staff=True)
        texts = {
            "repeats": "The budget. The budget was approved. Budget, budget and more budget.",
            "rare": "The committee discussed the budget for the zeppelin hangar.",
            **{f"filler {n}": f"Budget review number {n} for the department." for n in range(6)},
        }
        for title, text in texts.items():
            ChunkFactory.create(
                document=DocumentFactory.create(source=source, title=title),
                text=text,
                search_vector=SearchVector(Value(text), config="english"),
            )
    hits = chunk_search(fetched_by=people.charlie, query="budget of the zeppelin", mode="keyword", k=3)
    assert [hit.chunk.document.title for hit in hits][:2] == ["rare", "repeats"]
