"""Enclave's users and groups as SCIM resources: scim2-server's storage, over Enclave's models.

Every write goes through accounts/directory.py with the SCIM origin, so what a provisioning
request may change, and how it is recorded in the permission trail, is what a sign-in may: the
break-glass superuser is never taken over, a group another directory owns stays its own, and a
membership removed here takes the group's documents away from the person's next question.

scim2-server applies a PUT or a PATCH to the stored resource and hands ``update`` the whole new
state; the directory services then change only what differs (a PATCH that adds one member adds
that one membership). The view locks the resource's row for writes (``lock``), so two PATCHes of
one group at once cannot lose each other's members.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.contrib.auth.models import Group as DjangoGroup
from django.db.models import Prefetch, QuerySet
from scim2_models import (
    ConflictException,
    Email,
    GroupMember,
    GroupMembership,
    InvalidValueException,
    Meta,
    Name,
    NotFoundException,
    NotImplementedException,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    UniquenessException,
)
from scim2_server.storage import ScimStorage, SearchPage

from accounts.directory import (
    DirectoryConflict,
    DirectoryPerson,
    directory_group_delete,
    directory_group_sync,
    directory_person_remove,
    directory_person_sync,
    directory_person_update,
)
from accounts.models import Origin, ScimLink, User
from accounts.scim.filters import GROUP_FIELDS, USER_FIELDS, filter_query
from accounts.scim.schemas import MAX_RESULTS, PROVIDER

USERS, GROUPS = "User", "Group"


class EnclaveStorage(ScimStorage):
    """Reads through ScimLink (only what SCIM created or took over is a SCIM resource); writes
    through the directory services."""

    def __init__(self, *, lock: bool = False) -> None:
        self.lock = lock  # PUT, PATCH, DELETE: the row read first is the row written

    # -- reads ------------------------------------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        return self._resource(resource_type, self._link(resource_type, resource_id))

    def search(
        self, resource_types: list[ResourceType], search_request: SearchRequest[Any], *, position: Any = None
    ) -> SearchPage:
        if len(resource_types) != 1:
            raise NotImplementedException(detail="Search /Users or /Groups; Enclave does not search both at once.")
        resource_type = resource_types[0]
        kind = _kind(resource_type)
        links = _links(kind)
        if search_request.filter is not None:
            fields = USER_FIELDS if kind == USERS else GROUP_FIELDS
            query = filter_query(search_request.filter.ast, fields, f"{kind}s")
            links = links.filter(query.q)
            if query.distinct:
                links = links.distinct()
        total = links.count()
        start = max(search_request.start_index or 1, 1)
        count = MAX_RESULTS if search_request.count is None else min(max(search_request.count, 0), MAX_RESULTS)
        page = list(links.order_by("created_at", "id")[start - 1 : start - 1 + count]) if count else []
        return SearchPage(total=total, resources=[self._resource(resource_type, link) for link in page])

    def _link(self, resource_type: ResourceType, resource_id: str) -> ScimLink:
        try:
            key = uuid.UUID(resource_id)
        except ValueError:
            key = None
        kind = _kind(resource_type)
        links = _links(kind)
        if self.lock:
            links = links.select_for_update(of=("self",))
        link = links.filter(pk=key).first() if key is not None else None
        if link is None:
            raise NotFoundException(detail=f"No {kind.lower()} has the SCIM id {resource_id!r}.")
        return link

    def _resource(self, resource_type: ResourceType, link: ScimLink) -> Resource[Any]:
        model = cast(type[Resource[Any]], PROVIDER.model_for(resource_type))
        meta = Meta(
            resource_type=resource_type.name,
            created=link.created_at,
            last_modified=link.modified_at,
            version=f'W/"{int(link.modified_at.timestamp() * 1_000_000)}"',
        )
        common: dict[str, Any] = {"id": str(link.pk), "external_id": link.external_id or None, "meta": meta}
        if link.user is not None:
            return model(**common, **_user_attributes(link))
        assert link.group is not None
        return model(**common, **_group_attributes(link.group))

    # -- writes -----------------------------------------------------------------------------

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        link_id = uuid.uuid4()
        if _kind(resource_type) == USERS:
            link = ScimLink(pk=link_id, user=_user_create(resource, link_id))
        else:
            link = ScimLink(pk=link_id, group=_group_create(resource, link_id))
        _link_fields(link, resource)
        link.save()
        return self.get(resource_type, str(link.pk))

    def update(
        self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None
    ) -> Resource[Any]:
        link = self._link(resource_type, str(resource.id))
        state: Any = resource  # a User or a Group: the link says which
        with _conflicts_in_words():
            if link.user is not None:
                directory_person_update(user=link.user, person=_person(state, link.pk, active=state.active))
            else:
                assert link.group is not None
                _group_sync(state, link.pk, group=link.group)
        _link_fields(link, state)
        link.save()
        return self.get(resource_type, str(link.pk))

    def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        link = self._link(resource_type, resource_id)
        with _conflicts_in_words():
            if link.user is not None:
                # Deactivated, not deleted (directory_person_remove says why); the link goes, so this
                # id is gone for SCIM, and a later POST of the same userName gets the user back.
                directory_person_remove(user=link.user, origin=Origin.SCIM)
                link.delete()
            else:
                assert link.group is not None
                directory_group_delete(group=link.group, origin=Origin.SCIM)  # the link goes with the group


def _kind(resource_type: ResourceType) -> str:
    return USERS if resource_type.name == USERS else GROUPS


def _links(name: str) -> QuerySet[ScimLink]:
    if name == USERS:
        groups = Prefetch("user__groups", queryset=DjangoGroup.objects.select_related("scim_link").order_by("name"))
        return ScimLink.objects.filter(user__isnull=False).select_related("user").prefetch_related(groups)
    members = Prefetch("group__user_set", queryset=User.objects.select_related("scim_link").order_by("username"))
    return ScimLink.objects.filter(group__isnull=False).select_related("group").prefetch_related(members)


def _user_attributes(link: ScimLink) -> dict[str, Any]:
    user = link.user
    assert user is not None
    name = Name(given_name=user.first_name or None, family_name=user.last_name or None)
    groups = [
        GroupMembership(
            value=str(group.scim_link.pk), ref=_ref("Groups", group.scim_link), display=group.name, type="direct"
        )
        for group in user.groups.all()
        if hasattr(group, "scim_link")  # the groups SCIM created or took over; Enclave's own are not its business
    ]
    return {
        "user_name": user.username,
        "name": name if (user.first_name or user.last_name) else None,
        "active": user.is_active,
        "emails": [Email(value=user.email, type=_email_type(link), primary=link.email_primary)] if user.email else None,
        "groups": groups or None,
    }


def _ref(endpoint: str, link: ScimLink) -> Any:
    """A reference relative to the SCIM root; scim2-server makes it the full URL."""
    return f"{endpoint}/{link.pk}"


def _email_type(link: ScimLink) -> Email.Type | None:
    return Email.Type(link.email_type) if link.email_type else None


def _group_attributes(group: DjangoGroup) -> dict[str, Any]:
    members = [
        GroupMember(value=str(user.scim_link.pk), ref=_ref("Users", user.scim_link), type="User")
        for user in group.user_set.all()
        if hasattr(user, "scim_link")
    ]
    return {"display_name": group.name, "members": members or None}


def _email(resource: Any) -> Email | None:
    """The one address Enclave keeps: the primary one, else the work one, else the first."""
    emails = [email for email in resource.emails or [] if email.value]
    emails.sort(key=lambda email: (not email.primary, email.type != Email.Type.work))
    return emails[0] if emails else None


def _link_fields(link: ScimLink, resource: Any) -> None:
    email = _email(resource) if link.user is not None else None
    link.external_id = resource.external_id or ""
    link.email_type = str(email.type)[:16] if email is not None and email.type is not None else ""
    link.email_primary = email.primary if email is not None else None


def _person(resource: Any, link_id: uuid.UUID, *, active: bool | None) -> DirectoryPerson:
    email = _email(resource)
    name = resource.name
    return DirectoryPerson(
        origin=Origin.SCIM,
        external_id=str(link_id),
        username=_required(resource.user_name, "userName"),
        email=str(email.value) if email is not None else "",
        first_name=(name.given_name or "") if name else "",
        last_name=(name.family_name or "") if name else "",
        active=active,
        empty_clears=True,
    )


def _required(value: str | None, attribute: str) -> str:
    if not value or not value.strip():
        raise InvalidValueException(detail=f"'{attribute}' is required and cannot be empty.")
    if len(value) > 150:
        raise InvalidValueException(detail=f"'{attribute}' is longer than Enclave's 150 characters.")
    return value.strip()


def _user_create(resource: Any, link_id: uuid.UUID) -> User:
    # A new person is active unless the directory says otherwise; that also brings back someone
    # SCIM deleted before (a DELETE only deactivates), once the directory creates them again.
    person = _person(resource, link_id, active=True if resource.active is None else resource.active)
    # userName is unique without regard to case in SCIM (RFC 7643 §4.1.1), so "Dana" is "dana".
    existing = User.objects.filter(username__iexact=person.username, scim_link__isnull=False).first()
    if existing is not None:
        raise UniquenessException(
            detail=f"A user with userName '{person.username}' exists (id {existing.scim_link.pk})."
        )
    with _conflicts_in_words():
        return directory_person_sync(person)


def _group_create(resource: Any, link_id: uuid.UUID) -> DjangoGroup:
    name = _required(resource.display_name, "displayName")
    existing = DjangoGroup.objects.filter(name=name).select_related("scim_link", "directory").first()
    if existing is not None and hasattr(existing, "scim_link"):
        raise UniquenessException(detail=f"A group with displayName '{name}' exists (id {existing.scim_link.pk}).")
    with _conflicts_in_words():
        return _group_sync(resource, link_id, group=existing)


def _group_sync(resource: Any, link_id: uuid.UUID, *, group: DjangoGroup | None) -> DjangoGroup:
    """Create, rename or adopt the group, with exactly the members the directory lists."""
    name = _required(resource.display_name, "displayName")
    mark = getattr(group, "directory", None) if group is not None else None
    if mark is not None and mark.origin != Origin.SCIM:
        raise ConflictException(
            detail=f"The group '{group.name if group else name}' comes from {mark.get_origin_display()}; "
            "SCIM cannot take over a group another directory owns."
        )
    members = _member_users(resource.members or [])
    return directory_group_sync(origin=Origin.SCIM, name=name, external_id=str(link_id), members=members)


def _member_users(members: list[GroupMember]) -> list[User]:
    wanted: dict[uuid.UUID, str] = {}
    for member in members:
        if member.type not in (None, "User"):
            raise InvalidValueException(detail="Enclave groups hold users only, not other groups.")
        try:
            wanted[uuid.UUID(str(member.value))] = str(member.value)
        except ValueError:
            raise InvalidValueException(detail=f"No user has the SCIM id {member.value!r}.") from None
    found = {
        link.pk: link.user for link in ScimLink.objects.filter(pk__in=wanted, user__isnull=False).select_related("user")
    }
    missing = [value for key, value in wanted.items() if key not in found]
    if missing:
        raise InvalidValueException(detail=f"No user has the SCIM id {missing[0]!r}; provision the user first.")
    return [user for user in found.values() if user is not None]


@contextmanager
def _conflicts_in_words() -> Iterator[None]:
    """A DirectoryConflict (the break-glass account, a rename onto a taken name) is a 409 with its words."""
    try:
        yield
    except DirectoryConflict as error:
        raise ConflictException(detail=error.message) from error
