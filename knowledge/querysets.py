from __future__ import annotations

from typing import Self

from django.db import models

from knowledge.permissions import AnyUser, visibility


class VisibleQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> Self:
        """Rows this user may see; composes with ORDER BY embedding <=> q (the filter is a WHERE)."""
        return visibility.restrict(self, user)


class DocumentQuerySet(VisibleQuerySet):
    pass


class ChunkQuerySet(VisibleQuerySet):
    pass
