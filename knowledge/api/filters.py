"""The query parameters of the document and grant lists. Each narrows the queryset the view got from
its selector (what the caller may see); see core/api/filters.py."""

from __future__ import annotations

import django_filters

from core.api.filters import WholeNumberFilter
from knowledge.models import Document


class DocumentFilterSet(django_filters.FilterSet):
    source = WholeNumberFilter(field_name="source_id", min_value=1, help_text="Only this source's documents")
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)
    format = django_filters.CharFilter(field_name="metadata__format", max_length=16, help_text="pdf, md, docx, ...")
    q = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=200, help_text="Words in the title"
    )


class GrantFilterSet(django_filters.FilterSet):
    source = WholeNumberFilter(field_name="source_id", min_value=1)
    document = WholeNumberFilter(field_name="document_id", min_value=1)
    user = django_filters.CharFilter(field_name="user__username", max_length=150, help_text="A username")
    group = django_filters.CharFilter(field_name="group__name", max_length=150, help_text="A group name")
