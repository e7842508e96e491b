"""Every write to grants. Triggers refresh the affected documents' principals in the same transaction."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User
from knowledge.models import Document, Grant, Source


@transaction.atomic
def grant_create(
    *,
    user: User | None = None,
    group: Group | None = None,
    source: Source | None = None,
    document: Document | None = None,
    granted_by: User | None = None,
) -> Grant:
    """Give a user or group view access to a source or document; an existing grant is returned as is."""
    grant, _ = Grant.objects.get_or_create(
        user=user, group=group, source=source, document=document, defaults={"granted_by": granted_by}
    )
    return grant


@transaction.atomic
def grant_revoke(*, grant: Grant) -> None:
    grant.delete()
