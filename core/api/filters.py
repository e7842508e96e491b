"""Filters of list endpoints, declared once: a django-filter FilterSet names each query parameter,
checks it and applies it (NetBox's ``filterset_class`` is the model).

A FilterSet only narrows the queryset the view's ``get_queryset`` took from its selector, which is
already what the caller may see: a filter can hide rows, never reveal one. A malformed parameter is
a 400 in the one error format, naming it (``{"fields": {"status": ["Select a valid choice. ..."]}}``),
and the schema states each parameter as strictly as its form field checks it, so clients (and the
schemathesis test) know what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiFilterExtension
from drf_spectacular.plumbing import build_choice_description_list, build_parameter_type
from drf_spectacular.utils import OpenApiParameter


class FilterBackend(DjangoFilterBackend):
    """Applies the view's ``filterset_class`` (views without one are left as they are)."""


class WholeNumberField(forms.IntegerField):
    """A whole number when the parameter is given at all: ``?source=`` is an error, not "any source"."""

    def to_python(self, value: Any) -> int | None:
        if value == "":
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class WholeNumberFilter(django_filters.Filter):
    """Matches an integer column (an id); django-filter's NumberFilter would take 1.5 as well."""

    field_class = WholeNumberField


class FilterSetSchema(OpenApiFilterExtension):
    """Each filter as a query parameter, with the type, bounds and choices its form field checks."""

    target_class = "core.api.filters.FilterBackend"

    def get_schema_operation_parameters(self, auto_schema: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        filterset_class = getattr(auto_schema.view, "filterset_class", None)
        if filterset_class is None:
            return []
        return [
            _parameter(name, declared.field, declared.extra.get("help_text"))
            for name, declared in filterset_class.base_filters.items()
        ]


def _parameter(name: str, field: forms.Field, help_text: str | None) -> dict[str, Any]:
    schema = _schema_of(field)
    description = help_text or ""
    if isinstance(field, forms.ChoiceField):
        listed = build_choice_description_list([(value, label) for value, label in _choices(field) if value != ""])
        description = f"{description}\n\n{listed}" if description else listed
    return build_parameter_type(
        name=name,
        schema=schema,
        location=OpenApiParameter.QUERY,
        required=field.required,
        description=description or None,
    )


def _schema_of(field: forms.Field) -> dict[str, Any]:
    if isinstance(field, forms.ChoiceField):
        return {"type": "string", "enum": [str(value) for value, _ in _choices(field)]}
    if isinstance(field, forms.IntegerField):
        bounds = {"minimum": field.min_value, "maximum": field.max_value}
        return {"type": "integer", **{key: value for key, value in bounds.items() if value is not None}}
    if isinstance(field, forms.CharField):
        lengths = {"minLength": field.min_length, "maxLength": field.max_length}
        return {"type": "string", **{key: value for key, value in lengths.items() if value is not None}}
    return {"type": "string"}


def _choices(field: forms.ChoiceField) -> list[tuple[Any, Any]]:
    """(value, label) pairs, the blank one ("any") included when the field offers it."""
    return list(cast(Iterable[tuple[Any, Any]], field.choices))
