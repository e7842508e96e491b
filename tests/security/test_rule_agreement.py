"""The rule three ways: its plain definition, the application's filter, and PostgreSQL's RLS policy.

For random worlds of users, groups, memberships, grants and "all staff" flags, each user must see
exactly the documents the definition admits, through the application's filter alone (RLS opened up
by the system context) and through row-level security alone (no application filter at all).
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings

from core.rls import acting_as, acting_as_system
from knowledge.models import Document
from knowledge.permissions import visible_filter
from tests.security.worlds import World, allowed, build, worlds


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(users=3, groups=2, sources=2, documents=4, admins=True))
def test_filter_and_policy_both_match_the_definition(world: World) -> None:
    with transaction.atomic():
        users, documents = build(world)
        index_of = {d.pk: i for i, d in enumerate(documents)}
        for i, user in enumerate(users):
            with acting_as_system():  # RLS admits everything: only the application filter decides
                by_filter = Document.objects.filter(visible_filter(user)).values_list("pk", flat=True)
                by_filter_indexes = {index_of[pk] for pk in by_filter}
            with acting_as(user):  # no application filter: only RLS decides
                by_policy = {index_of[pk] for pk in Document.objects.values_list("pk", flat=True)}
            assert by_filter_indexes == allowed(world, i), f"application filter for user {i}"
            assert by_policy == allowed(world, i), f"row-level security for user {i}"
        transaction.set_rollback(True)
