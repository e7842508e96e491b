"""Every write to sources."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from knowledge.models import Source


@transaction.atomic
def source_ensure(
    *,
    name: str,
    kind: Source.Kind = Source.Kind.UPLOAD,
    config: dict[str, Any] | None = None,
    visible_to_all_staff: bool = False,
    created_by: User | None = None,
) -> Source:
    """The source called ``name``, created with these settings if it does not exist yet."""
    source, _ = Source.objects.get_or_create(
        name=name,
        defaults={
            "kind": kind,
            "config": config or {},
            "visible_to_all_staff": visible_to_all_staff,
            "created_by": created_by,
        },
    )
    return source
