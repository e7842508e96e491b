"""Which sources celery beat syncs: scheduled ones whose interval has passed and that are not mid-sync."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.rls import acting_as_system
from knowledge.models import Source, SyncRun
from knowledge.services.sources import sources_due_sync
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def scheduled(name: str, every: int | None, synced_minutes_ago: int | None) -> Source:
    last = None if synced_minutes_ago is None else timezone.now() - timedelta(minutes=synced_minutes_ago)
    with acting_as_system():
        return SourceFactory.create(name=name, sync_every_minutes=every, last_synced_at=last)


def test_due_sources_are_those_whose_interval_has_passed() -> None:
    never_synced = scheduled("never synced", 60, None)
    overdue = scheduled("overdue", 60, 61)
    scheduled("recent", 60, 10)
    scheduled("manual only", None, 600)
    assert sorted(sources_due_sync()) == sorted([never_synced.pk, overdue.pk])


def test_a_source_still_syncing_is_not_queued_again_until_its_run_looks_lost() -> None:
    busy = scheduled("busy", 1, 5)
    with acting_as_system():
        run = SyncRun.objects.create(source=busy, documents_total=10)
    assert sources_due_sync() == []
    SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=7))
    assert sources_due_sync() == [busy.pk]
