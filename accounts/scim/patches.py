"""What identity providers PATCH that Enclave does not keep, taken out before the PATCH is applied.

Entra ID's default mappings PATCH attributes such as ``addresses[type eq "work"].formatted`` or
``phoneNumbers[type eq "mobile"].value``, and an ``add`` through a value filter onto an attribute
that has no value yet is refused by the standard models (noTarget): every change of a person's
address would fail. Enclave keeps none of those attributes (schemas.py says why), so operations on
them are dropped, as their values are on a POST or PUT. An attribute that no standard schema
defines is left in, and refused with a 400 like any unknown attribute.

The one address Enclave keeps is written by Entra as ``emails[type eq "work"].value``; an ``add`` or
``replace`` there becomes a replace of ``emails`` with that one address, which is what it means to
Enclave (and works when the person has no address yet).

Entra removes group members as ``{"op": "Remove", "path": "members", "value": [{"value": "<id>"}]}``,
a remove with a value, which RFC 7644 §3.5.2.2 does not have (it selects with a filter, as
``members[value eq "<id>"]``, which Entra also sends); it becomes one such remove per member.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from scim2_models import EnterpriseUser, User

from accounts.scim.schemas import KEPT_USER_ATTRIBUTES

_CORE_USER = str(User.__schema__)
_ENTERPRISE = str(EnterpriseUser.__schema__)
_STANDARD = {str(attribute.name).lower() for attribute in User.to_schema().attributes or []}
_KEPT = {name.lower() for name in KEPT_USER_ATTRIBUTES} | {"externalid", "id", "schemas", "meta"}
_NOT_KEPT = _STANDARD - _KEPT
_WORK_EMAIL = re.compile(r'^emails\[\s*type\s+eq\s+"(?P<type>[^"]*)"\s*\]\.value$', re.IGNORECASE)


def user_patch_for_enclave(body: bytes) -> bytes:
    """The PATCH body without its operations on attributes Enclave does not keep; a body that is not
    a PATCH (not JSON, no Operations list) is returned as it came, to be refused in words."""
    return _operations_rewritten(body, _kept_operations)


def group_patch_for_enclave(body: bytes) -> bytes:
    """The PATCH body with Entra's removes of members by value as removes by filter."""
    return _operations_rewritten(body, _member_removes)


def _operations_rewritten(body: bytes, rewrite: Callable[[Any], list[Any]]) -> bytes:
    try:
        patch = json.loads(body)
    except ValueError:
        return body
    operations = patch.get("Operations") if isinstance(patch, dict) else None
    if not isinstance(operations, list):
        return body
    patch["Operations"] = [new for op in operations for new in rewrite(op)]
    if operations and not patch["Operations"]:
        # Nothing left that Enclave keeps (a PATCH of the title alone): it changes nothing, and a
        # PATCH needs one operation.
        patch["Operations"] = [{"op": "add", "value": {}}]
    return json.dumps(patch).encode()


def _member_removes(operation: Any) -> list[Any]:
    if not isinstance(operation, dict) or str(operation.get("op", "")).lower() != "remove":
        return [operation]
    path, value = str(operation.get("path", "")).strip().lower(), operation.get("value")
    if path != "members" or not isinstance(value, list) or not value:
        return [operation]
    if not all(isinstance(member, dict) and isinstance(member.get("value"), str) for member in value):
        return [operation]  # refused in words by the standard models
    return [{"op": "remove", "path": f"members[value eq {json.dumps(m['value'])}]"} for m in value]


def _kept_operations(operation: Any) -> list[Any]:
    """The operation as Enclave applies it: dropped, rewritten, or as it came."""
    if not isinstance(operation, dict):
        return [operation]
    path, value = operation.get("path"), operation.get("value")
    if isinstance(path, str):
        work_email = _WORK_EMAIL.match(path.strip())
        if work_email and str(operation.get("op", "")).lower() in ("add", "replace") and isinstance(value, str):
            email = {"value": value, "type": work_email["type"], "primary": True}
            return [{"op": "replace", "path": "emails", "value": [email]}]
        return [] if _not_kept(path) else [operation]
    if path is None and isinstance(value, dict):
        return [{**operation, "value": {key: item for key, item in value.items() if not _not_kept(key)}}]
    return [operation]


def _not_kept(path: str) -> bool:
    """Whether the path names a standard attribute Enclave does not keep (or the enterprise extension)."""
    path = path.strip()
    if path.lower().startswith(_ENTERPRISE.lower()):
        return True
    if path.lower().startswith(_CORE_USER.lower() + ":"):
        path = path[len(_CORE_USER) + 1 :]
    attribute = re.split(r"[.\[]", path, maxsplit=1)[0].lower()
    return attribute in _NOT_KEPT
