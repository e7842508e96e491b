"""The rule every way it is asked, against its plain definition.

For random worlds of users (one maybe a knowledge admin, one maybe deactivated), groups,
memberships, grants, "all staff" flags and ACL entries read from sources (allow and deny, where
deny wins), the documents each user may see must be exactly the
ones the definition (tests/security/worlds.py) admits, asked five ways:
- the application's filter alone (row-level security opened up by the system context);
- row-level security alone (no application filter at all);
- the policy's ``audience(document)``, the users it lists for each document;
- the policy's ``reasons(user, document)``, non-empty exactly when the user may see it (and ``admits``);
- and the policy's Python mirror of the trigger, ``document_principals``, must equal the column the
  trigger wrote, so the reasons and the audience are told in the SQL side's own vocabulary.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings

from accounts.models import User
from core.rls import acting_as, acting_as_system
from knowledge.models import Document
from knowledge.permissions import visibility
from tests.security.worlds import World, allowed, build, worlds

Seen = dict[int, set[int]]  # user index -> indexes of the documents they see


def by_filter(users: list[User], documents: list[Document]) -> Seen:
    index_of = {d.pk: i for i, d in enumerate(documents)}
    with acting_as_system():  # RLS admits everything: only the application filter decides
        return {
            u: {index_of[pk] for pk in Document.objects.visible_to(user).values_list("pk", flat=True)}
            for u, user in enumerate(users)
        }


def by_row_level_security(users: list[User], documents: list[Document]) -> Seen:
    index_of = {d.pk: i for i, d in enumerate(documents)}
    seen = {}
    for u, user in enumerate(users):
        with acting_as(user):  # no application filter: only RLS decides
            seen[u] = {index_of[pk] for pk in Document.objects.values_list("pk", flat=True)}
    return seen


def by_audience(users: list[User], documents: list[Document]) -> Seen:
    index_of = {user.pk: u for u, user in enumerate(users)}
    seen: Seen = {u: set() for u in range(len(users))}
    for d, document in enumerate(documents):
        audience = visibility.audience(document)
        for viewer in audience.users.prefetch_related("groups"):
            assert audience.reasons_of(viewer), f"user {index_of[viewer.pk]} is listed for document {d} without why"
            seen[index_of[viewer.pk]].add(d)
    return seen


def by_reasons(users: list[User], documents: list[Document]) -> Seen:
    seen: Seen = {}
    for u, user in enumerate(users):
        seen[u] = {d for d, document in enumerate(documents) if visibility.reasons(user, document)}
        admitted = {d for d, document in enumerate(documents) if visibility.admits(user, document)}
        assert admitted == seen[u], f"admits() and reasons() disagree for user {u}"
    return seen


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(users=3, groups=2, sources=2, documents=4, admins=True, deactivated=True, acls=True))
def test_every_way_of_asking_matches_the_definition(world: World) -> None:
    with transaction.atomic():
        users, documents = build(world)
        definition = {u: allowed(world, u) for u in range(len(users))}
        assert by_filter(users, documents) == definition, "application filter"
        assert by_row_level_security(users, documents) == definition, "row-level security"
        with acting_as_system():
            for d, document in enumerate(documents):
                document.refresh_from_db()
                assert visibility.document_principals(document) == sorted(document.principals), f"document {d}"
                assert visibility.document_denied(document) == sorted(document.denied), f"document {d} denied"
            assert by_audience(users, documents) == definition, "audience()"
            assert by_reasons(users, documents) == definition, "reasons()"
        transaction.set_rollback(True)
