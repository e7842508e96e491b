"""The visibility rule as the selectors apply it: alice (direct grant), bob (group), charlie (outsider)."""

from __future__ import annotations

import pytest
from django.http import Http404

from accounts.models import User
from core.rls import acting_as, acting_as_system
from knowledge.models import Grant
from knowledge.selectors import access_document_by_id, chunk_list, document_list, source_list
from knowledge.services.grants import grant_create, grant_revoke
from tests.conftest import Corpus, People
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def titles_seen_by(user: User) -> set[str]:
    with acting_as(user):
        return {d.title for d in document_list(fetched_by=user)}


def test_each_person_sees_exactly_what_the_rule_allows(people: People, corpus: Corpus) -> None:
    everything = {"Salary bands", "Office closed Friday", "Board memo"}
    assert titles_seen_by(people.alice) == everything  # source grant + document grant + all staff
    assert titles_seen_by(people.bob) == {"Salary bands", "Office closed Friday"}  # via the hr group
    assert titles_seen_by(people.charlie) == {"Office closed Friday"}  # all staff only
    assert titles_seen_by(people.admin) == everything


def test_a_group_grant_on_a_document_admits_its_members_only(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        grant_create(group=people.hr, document=corpus.memo)
    assert "Board memo" in titles_seen_by(people.bob)
    assert "Board memo" not in titles_seen_by(people.charlie)


def test_a_document_visible_to_all_staff_is_seen_by_everyone_signed_in(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        DocumentFactory.create(source=corpus.handbook, title="Holiday calendar", visible_to_all_staff=True)
    assert "Holiday calendar" in titles_seen_by(people.charlie)


def test_anonymous_and_deactivated_users_see_nothing(people: People, corpus: Corpus) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert titles_seen_by(AnonymousUser()) == set()  # type: ignore[arg-type]
    people.alice.is_active = False
    people.alice.save()
    assert titles_seen_by(people.alice) == set()


def test_outsiders_get_not_found_exactly_as_for_a_missing_document(people: People, corpus: Corpus) -> None:
    with acting_as(people.charlie):
        with pytest.raises(Http404) as hidden:
            access_document_by_id(fetched_by=people.charlie, document_id=corpus.salaries.pk)
        with pytest.raises(Http404) as missing:
            access_document_by_id(fetched_by=people.charlie, document_id=10**9)
        with pytest.raises(Http404):
            chunk_list(fetched_by=people.charlie, document_id=corpus.salaries.pk)
    assert str(hidden.value) == str(missing.value)
    with acting_as(people.bob):
        assert access_document_by_id(fetched_by=people.bob, document_id=corpus.salaries.pk) == corpus.salaries
        assert len(chunk_list(fetched_by=people.bob, document_id=corpus.salaries.pk)) == 3


def test_sources_are_listed_only_where_a_document_is_visible(people: People, corpus: Corpus) -> None:
    with acting_as(people.charlie):
        assert [s.name for s in source_list(fetched_by=people.charlie)] == ["Company notices"]
    with acting_as(people.admin):
        assert len(source_list(fetched_by=people.admin)) == 3


def test_a_revoked_grant_hides_the_document_on_the_next_read(people: People, corpus: Corpus) -> None:
    assert "Board memo" in titles_seen_by(people.alice)
    with acting_as_system():
        grant_revoke(grant=Grant.objects.get(user=people.alice, document=corpus.memo))
    assert "Board memo" not in titles_seen_by(people.alice)


def test_leaving_the_group_hides_the_document_on_the_next_read(people: People, corpus: Corpus) -> None:
    assert "Salary bands" in titles_seen_by(people.bob)
    people.bob.groups.remove(people.hr)
    assert "Salary bands" not in titles_seen_by(people.bob)


def test_a_deleted_document_is_gone_on_the_next_read(people: People, corpus: Corpus) -> None:
    with acting_as(people.admin):
        corpus.salaries.delete()
    assert "Salary bands" not in titles_seen_by(people.alice)
    with acting_as(people.alice), pytest.raises(Http404):
        chunk_list(fetched_by=people.alice, document_id=corpus.salaries.pk)


def test_turning_off_all_staff_on_a_source_hides_its_documents(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        corpus.notices.visible_to_all_staff = False
        corpus.notices.save()
    assert titles_seen_by(people.charlie) == set()


def test_a_document_moved_to_a_granted_source_becomes_visible(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        corpus.memo.source = corpus.handbook
        corpus.memo.save()
    assert "Board memo" in titles_seen_by(people.bob)


def test_a_new_user_in_a_granted_group_sees_the_source_at_once(people: People, corpus: Corpus) -> None:
    dana = UserFactory.create(username="dana")
    assert "Salary bands" not in titles_seen_by(dana)
    dana.groups.add(people.hr)
    assert "Salary bands" in titles_seen_by(dana)


def test_listing_documents_takes_one_query_whatever_their_number(
    people: People, corpus: Corpus, django_assert_max_num_queries
) -> None:
    with acting_as_system():
        DocumentFactory.create_batch(20, source=corpus.handbook)
    # Two queries: the user's groups, then the documents joined with their sources.
    with acting_as(people.alice), django_assert_max_num_queries(2):
        titles = [f"{d.title} ({d.source.name})" for d in document_list(fetched_by=people.alice)]
    assert len(titles) == 23
