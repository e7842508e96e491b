"""Request bodies read as strictly as the schema states them.

DRF is lenient with JSON: it takes 0 for false, "5" for 5 and 5 for "5". The schema promises a
boolean, an integer, a string; a client sending something else has a bug it should hear about (a
400 naming the field), not a guess that may be wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import relations, serializers

STRINGS = (serializers.CharField, serializers.DateTimeField, relations.SlugRelatedField)
INTEGERS = (serializers.IntegerField, relations.PrimaryKeyRelatedField)


def type_problem(field: serializers.Field, value: Any) -> str:
    """What is wrong with the JSON type of ``value`` for ``field``; empty when nothing is."""
    if value is None:
        return ""  # DRF says whether null is allowed
    if isinstance(field, serializers.BooleanField):
        return "" if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.ChoiceField):
        kinds = {type(choice) for choice in field.choices}
        return "" if type(value) in kinds else f"Must be one of: {', '.join(map(str, field.choices))}."
    if isinstance(field, INTEGERS):
        return "" if isinstance(value, int) and not isinstance(value, bool) else "Must be a whole number."
    if isinstance(field, STRINGS):
        return "" if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return "Must be a list."
        return next((f"Item {i}: {p}" for i, item in enumerate(value) if (p := type_problem(field.child, item))), "")
    if isinstance(field, serializers.DictField):
        return "" if isinstance(value, dict) else "Must be an object."
    return ""


class StrictTypes:
    """Mixed into a request serializer: each field's JSON type is checked before DRF converts it."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {
                name: [problem]
                for name, field in self.fields.items()
                if not field.read_only and name in data and (problem := type_problem(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]
