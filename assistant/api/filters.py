"""The query parameters of the conversation list; it narrows the caller's own conversations (see
core/api/filters.py)."""

from __future__ import annotations

import django_filters


class ConversationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=200, help_text="Words in the title"
    )
