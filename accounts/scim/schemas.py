"""What the SCIM endpoint reads, and what it publishes (RFC 7643 §7, RFC 7644 §4).

It *reads* the standard models (core User with the enterprise extension, and Group, from
scim2-models), so an identity provider's usual mappings (Entra sends title, addresses, phone
numbers, the enterprise department; Okta a locale and, if pushed, a password) are accepted;
an attribute no standard schema defines is refused (400). It *publishes*, in /Schemas and
/ResourceTypes, only the attributes Enclave keeps: those are what a read gives back. The rest
is dropped on purpose: Enclave needs to know who someone is and which groups they are in, not
their phone number, and keeping what it does not use would only widen what a breach exposes.
A password sent by a directory is never stored: directory users sign in through the directory.
"""

from __future__ import annotations

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    Required,
    ResourceType,
    Schema,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

MAX_RESULTS = 200  # a list page's largest size; a directory pages through more with startIndex

# Per schema, the attributes Enclave keeps, with the sub-attributes kept of complex ones.
KEPT_USER_ATTRIBUTES = {
    "userName": None,
    "name": {"givenName", "familyName"},
    "active": None,
    "emails": {"value", "type", "primary"},
    "groups": {"value", "$ref", "display", "type"},
}
KEPT_GROUP_ATTRIBUTES = {"displayName": None, "members": {"value", "$ref", "type"}}

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A token made with manage.py scim_token_create, sent as Authorization: Bearer <token>",
            primary=True,
        )
    ],
)

USER_TYPE = ResourceType.from_resource(User[EnterpriseUser])
GROUP_TYPE = ResourceType.from_resource(Group)

# What requests are read with.
PROVIDER = ScimProvider(models=[User, EnterpriseUser, Group], resource_types=[USER_TYPE, GROUP_TYPE], config=CONFIG)


# Where Enclave's attribute differs from the standard's, the published schema says how: every
# Enclave user is active or not, so ``active`` is always there and cannot be removed (a creation
# without it still makes an active user).
DIFFERENCES = {"active": {"required": Required.true}}


def _kept(schema: Schema, kept: dict[str, set[str] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name not in kept:
            continue
        subs = kept[attribute.name]
        if subs is not None:
            chosen = [sub for sub in attribute.sub_attributes or [] if sub.name in subs]
            attribute = attribute.model_copy(update={"sub_attributes": chosen})
        attributes.append(attribute.model_copy(update=DIFFERENCES.get(str(attribute.name), {})))
    return schema.model_copy(update={"attributes": attributes})


def _published() -> ScimProvider:
    users = _kept(User.to_schema(), KEPT_USER_ATTRIBUTES)
    groups = _kept(Group.to_schema(), KEPT_GROUP_ATTRIBUTES)
    # Nothing of the enterprise extension is kept, so the published User type names no extension.
    user_type = USER_TYPE.model_copy(update={"schema_extensions": None})
    return ScimProvider.from_discovery([users, groups], [user_type, GROUP_TYPE], CONFIG)


# What /Schemas and /ResourceTypes say: the attributes a read gives back.
PUBLISHED = _published()
