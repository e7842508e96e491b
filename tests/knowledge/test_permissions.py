"""The visibility policy's own answers: the admin predicate, the SQL search embeds, and the words.

That every answer agrees with the rule over random worlds is tests/security/test_rule_agreement.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from accounts.models import Role, User
from core.rls import acting_as_system
from knowledge.models import Grant
from knowledge.permissions import visibility
from knowledge.services.grants import grant_create
from tests.conftest import Corpus, People
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_one_predicate_says_who_administers_knowledge(people: People) -> None:
    root = UserFactory.create(username="root", is_superuser=True)
    retired = UserFactory.create(username="retired", role=Role.KNOWLEDGE_ADMIN, is_active=False)
    everyone = [people.alice, people.bob, people.charlie, people.admin, root, retired]
    admins = {user.username for user in everyone if visibility.is_admin(user)}
    assert admins == {"admin", "root"}
    assert set(User.objects.filter(User.knowledge_admins()).values_list("username", flat=True)) == admins
    assert not visibility.is_admin(AnonymousUser())


def test_admin_reads_are_not_found_or_empty_for_everyone_else(people: People, corpus: Corpus) -> None:
    with pytest.raises(Http404, match=r"^No such user\.$"):
        visibility.require_admin(people.alice, "No such user.")
    visibility.require_admin(people.admin)
    assert list(visibility.admin_only(Grant.objects.all(), people.alice)) == []
    assert visibility.admin_only(Grant.objects.all(), people.admin).count() == 3


def test_search_embeds_one_indexable_overlap_then_the_deny_check_and_nothing_for_admins(people: People) -> None:
    bob = visibility.restriction(people.bob)
    clause = "c.principals && %(principals)s::text[] AND NOT c.denied && %(principals)s::text[]"
    assert bob.sql("c") == (clause, {"principals": bob.principals})
    assert bob.principals == ["staff", f"u:{people.bob.pk}", f"g:{people.hr.pk}"]
    assert visibility.restriction(people.admin).sql("d") is None
    assert visibility.restriction(AnonymousUser()).nothing
    with pytest.raises(ValueError, match="alias"):
        bob.sql("c; DROP TABLE knowledge_chunk")


def test_reasons_name_every_flag_and_grant_that_admits_the_user(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        grant_create(user=people.bob, document=corpus.salaries)
    assert visibility.reasons(people.bob, corpus.salaries) == [
        "granted the source 'HR handbook' through the group 'hr'",
        "granted this document directly",
    ]
    assert visibility.reasons(people.admin, corpus.notice) == [
        "is a knowledge admin, who may see every document",
        "the source 'Company notices' is visible to all staff",
    ]
    assert visibility.reasons(people.charlie, corpus.salaries) == []
    assert not visibility.admits(people.charlie, corpus.salaries)


def test_the_audience_costs_the_same_few_queries_however_many_groups_are_granted(
    people: People, corpus: Corpus, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with acting_as_system():
        for n in range(10):
            group = GroupFactory.create(name=f"team{n}")
            UserFactory.create(username=f"member{n}").groups.add(group)
            grant_create(group=group, document=corpus.salaries)
    with django_assert_max_num_queries(5):
        audience = visibility.audience(corpus.salaries)
        viewers = {user.username: audience.reasons_of(user) for user in audience.users.prefetch_related("groups")}
    assert viewers["admin"] == ["knowledge admin"]
    assert viewers["member3"] == ["granted this document through the group 'team3'"]
    assert len(viewers) == 13 and "charlie" not in viewers


def test_the_consoles_own_reads_give_the_outsider_nothing(people: People, corpus: Corpus) -> None:
    """The selectors the console reads through (document list, chunk preview, sources, the question
    log's documents and count) answer admins only; charlie gets none, or "not found"."""
    from datetime import timedelta

    from django.utils import timezone

    from assistant.selectors import question_count_since, retrieved_document_ids
    from core.rls import acting_as
    from knowledge.selectors.documents import chunk_preview
    from knowledge.selectors.manage import document_console_list, source_console_list

    since = timezone.now() - timedelta(days=1)
    with acting_as(people.charlie):
        assert list(document_console_list(fetched_by=people.charlie)) == []
        assert list(source_console_list(fetched_by=people.charlie)) == []
        assert list(retrieved_document_ids(fetched_by=people.charlie)) == []
        assert question_count_since(fetched_by=people.charlie, since=since) == 0
        with pytest.raises(Http404):
            chunk_preview(fetched_by=people.charlie, document_id=corpus.salaries.pk, limit=5)
    with acting_as(people.admin):
        assert document_console_list(fetched_by=people.admin).count() == 3
        assert len(chunk_preview(fetched_by=people.admin, document_id=corpus.salaries.pk, limit=2)) == 2
