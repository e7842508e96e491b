"""Small helpers the selectors share."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet

from core.errors import NotFound

M = TypeVar("M", bound=Model)


def get_visible_or_404(queryset: QuerySet[M], not_found: str, **lookup: Any) -> M:
    """The one object of ``queryset`` matching ``lookup``, or NotFound(``not_found``).

    ``queryset`` is already what the caller may see (a selector's), so a hidden object is as missing
    as one that never existed; an id that is not a number (``"abc"``, ``None``) is missing too,
    rather than a server error.
    """
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):  # the model's DoesNotExist is one
        raise NotFound(not_found) from None
