"""SCIM filters (RFC 7644 §3.4.2.2) as Django queries over the SCIM links, run by PostgreSQL.

scim2-models parses and checks the filter against the standard schemas (a syntax error or an
attribute no schema defines is its invalidFilter). This module turns the tree into a ``Q`` on
``ScimLink``, so a directory's ``userName eq "dana@example.com"`` is one indexed query, and paging
counts in SQL. An attribute Enclave does not keep is refused in words (invalidFilter), not matched
against nothing: an empty answer would make the directory think the person is missing and create
them again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from scim2_models import InvalidFilterException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Field:
    """Where a SCIM attribute lives, relative to ScimLink, and how it compares."""

    lookup: str
    kind: str = "text"  # "text" (case-insensitive), "exact" (caseExact text), "bool", "time", "id"
    many: bool = False  # through a to-many relation: the query needs DISTINCT


USER_FIELDS = {
    "id": Field("id", "id"),
    "externalid": Field("external_id", "exact"),
    "username": Field("user__username"),
    "name.givenname": Field("user__first_name"),
    "name.familyname": Field("user__last_name"),
    "emails": Field("user__email"),
    "emails.value": Field("user__email"),
    "active": Field("user__is_active", "bool"),
    "groups": Field("user__groups__scim_link__id", "id", many=True),
    "groups.value": Field("user__groups__scim_link__id", "id", many=True),
    "groups.display": Field("user__groups__name", many=True),
    "meta.created": Field("created_at", "time"),
    "meta.lastmodified": Field("modified_at", "time"),
}
GROUP_FIELDS = {
    "id": Field("id", "id"),
    "externalid": Field("external_id", "exact"),
    "displayname": Field("group__name"),
    "members": Field("group__user__scim_link__id", "id", many=True),
    "members.value": Field("group__user__scim_link__id", "id", many=True),
    "members.display": Field("group__user__username", many=True),
    "meta.created": Field("created_at", "time"),
    "meta.lastmodified": Field("modified_at", "time"),
}

_TEXT_LOOKUPS = {
    CompareOperator.eq: "iexact",
    CompareOperator.co: "icontains",
    CompareOperator.sw: "istartswith",
    CompareOperator.ew: "iendswith",
}
_EXACT_LOOKUPS = {
    CompareOperator.eq: "exact",
    CompareOperator.co: "contains",
    CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith",
}
_ORDER_LOOKUPS = {
    CompareOperator.gt: "gt",
    CompareOperator.ge: "gte",
    CompareOperator.lt: "lt",
    CompareOperator.le: "lte",
}


@dataclass(frozen=True)
class FilterQuery:
    q: Q
    distinct: bool  # the filter reaches through a to-many relation


def filter_query(node: FilterNode, fields: dict[str, Field], resource: str) -> FilterQuery:
    """The ``Q`` over ScimLink that selects the resources ``node`` matches."""
    visitor = _ToQ(fields, resource)
    q = visitor.visit(node)
    return FilterQuery(q=q, distinct=visitor.distinct)


class _ToQ(FilterVisitor[Q]):
    def __init__(self, fields: dict[str, Field], resource: str) -> None:
        self.fields = fields
        self.resource = resource
        self.distinct = False
        self.parent: str | None = None  # inside emails[...]: the multi-valued attribute selected into

    def _field(self, path: AttrPath) -> tuple[str, Field]:
        name = ".".join(part for part in (self.parent, path.attr, path.sub_attr) if part)
        field = self.fields.get(name.lower())
        if field is None:
            raise InvalidFilterException(
                detail=f"Enclave does not keep '{name}' for {self.resource}, so it cannot filter by it; "
                f"it filters by {', '.join(sorted(self.fields))}."
            )
        self.distinct |= field.many
        return name, field

    def visit_comparison(self, node: Comparison) -> Q:
        name, field = self._field(node.attr_path)
        if node.op == CompareOperator.ne:
            return ~_compare(name, field, CompareOperator.eq, node.value)
        return _compare(name, field, node.op, node.value)

    def visit_present(self, node: Present) -> Q:
        _, field = self._field(node.attr_path)
        if field.kind in ("bool", "time", "id") and not field.many:
            return ~Q(**{f"{field.lookup}__isnull": True})
        if field.many:
            return Q(**{f"{field.lookup}__isnull": False})
        return ~Q(**{field.lookup: ""})

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        combine: Callable[[Q, Q], Q] = (lambda a, b: a & b) if node.op == LogicalOperator.and_ else (lambda a, b: a | b)
        result = self.visit(node.terms[0])
        for term in node.terms[1:]:
            result = combine(result, self.visit(term))
        return result

    def visit_value_path(self, node: ValuePath) -> Q:
        if self.parent is not None:
            raise InvalidFilterException(detail="A value filter cannot be nested in another.")
        self.parent = node.attr_path.attr
        try:
            return self.visit(node.val_filter)
        finally:
            self.parent = None


def _compare(name: str, field: Field, op: CompareOperator, value: Any) -> Q:
    if field.kind == "id":
        return _compare_id(name, field, op, value)
    if field.kind == "bool":
        if op != CompareOperator.eq or not isinstance(value, bool):
            raise InvalidFilterException(detail=f"'{name}' is true or false: compare it with eq true or eq false.")
        return Q(**{field.lookup: value})
    if field.kind == "time":
        return _compare_time(name, field, op, value)
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"'{name}' is compared with a string, not {value!r}.")
    if op in _ORDER_LOOKUPS:
        return Q(**{f"{field.lookup}__{_ORDER_LOOKUPS[op]}": value})
    lookups = _EXACT_LOOKUPS if field.kind == "exact" else _TEXT_LOOKUPS
    return Q(**{f"{field.lookup}__{lookups[op]}": value})


def _compare_time(name: str, field: Field, op: CompareOperator, value: Any) -> Q:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise InvalidFilterException(
            detail=f"'{name}' is compared with a date and time such as \"2026-01-31T12:00:00Z\", not {value!r}."
        )
    if op == CompareOperator.eq:
        return Q(**{field.lookup: moment})
    if op not in _ORDER_LOOKUPS:
        raise InvalidFilterException(detail=f"'{name}' is a date and time: compare it with eq, gt, ge, lt or le.")
    return Q(**{f"{field.lookup}__{_ORDER_LOOKUPS[op]}": moment})


def _compare_id(name: str, field: Field, op: CompareOperator, value: Any) -> Q:
    if op != CompareOperator.eq:
        raise InvalidFilterException(detail=f"'{name}' is an id: compare it with eq.")
    try:
        return Q(**{field.lookup: uuid.UUID(str(value))})
    except ValueError:
        return NOTHING  # not an id Enclave gives out, so nothing has it
