"""Users and groups owned by the company's directory: one way in for OIDC, LDAP and SCIM.

Every protocol turns what the directory says into a ``DirectoryPerson`` (or a group with its
members) and calls these services, so what a sign-in or a provisioning request may change, and
how it is recorded, is decided once:

- A directory owns the memberships of *its* groups (those marked with its origin). It brings them
  in line with what it says; memberships of Enclave's own groups, granted in the console, are kept.
- A group the directory names that does not exist is created as its own; an Enclave group of the
  same name is adopted (marked as the directory's), so grants already made on it keep working.
- A sign-in never re-activates someone: a person deactivated in Enclave or by SCIM stays out.
- A local superuser (the break-glass admin) is never taken over by a directory.
- Every change is recorded in the permission trail with the directory as the actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import DirectoryActor
from accounts.models import DirectoryGroup, Origin, Role, User
from accounts.services import group_members_change, user_activation_set, user_groups_set, user_role_set
from core.errors import EnclaveError


class DirectoryConflict(EnclaveError):
    """What the directory says cannot be applied without taking over someone it does not own."""

    code = "conflict"
    http_status = 409


@dataclass(frozen=True)
class DirectoryPerson:
    """A person as the directory describes them. ``None`` leaves that part of the user alone."""

    origin: Origin
    external_id: str  # the directory's stable id (OIDC sub, LDAP DN, SCIM id); "" if it has none
    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    groups: Sequence[str] | None = None  # the names of the directory groups they belong to
    knowledge_admin: bool | None = None
    active: bool | None = None  # SCIM says; a sign-in does not (see the module docstring)
    # A sign-in's claims may leave a field out, so an empty one leaves the user's alone; SCIM sends
    # the whole person, so there an empty email or name clears the user's.
    empty_clears: bool = False


@transaction.atomic
def directory_person_sync(person: DirectoryPerson) -> User:
    """Create or update the user the directory describes, and bring their directory groups in line."""
    user = _person_user(person)
    _person_apply(user, person)
    return user


@transaction.atomic
def directory_person_update(*, user: User, person: DirectoryPerson) -> User:
    """Apply what the directory says to a user it already knows by its own handle (a SCIM resource
    id), so a rename there renames this user, whatever the directory's id or origin on the user."""
    _refuse_break_glass(user, person.username)
    if person.username != user.username and User.objects.filter(username=person.username).exists():
        raise DirectoryConflict(
            f"The directory renamed a person to '{person.username}', a name another Enclave user already has."
        )
    _person_apply(user, person)
    return user


def _person_apply(user: User, person: DirectoryPerson) -> None:
    actor = DirectoryActor(Origin(person.origin))
    _person_fields_apply(user, person)
    if person.knowledge_admin is not None:
        role = Role.KNOWLEDGE_ADMIN if person.knowledge_admin else Role.STAFF
        user_role_set(user=user, role=role, acting_user=actor)
    if person.active is not None:
        user_activation_set(user=user, active=person.active, acting_user=actor)
    if person.groups is not None:
        _memberships_bring_in_line(user, person.origin, person.groups, actor)


@transaction.atomic
def directory_group_sync(
    *, origin: Origin, name: str, external_id: str = "", members: Iterable[User] | None = None
) -> Group:
    """Create, rename or adopt the directory's group; with ``members``, make them its only members."""
    group = _directory_group(origin, name, external_id)
    if members is not None:
        wanted, current = set(members), set(group.user_set.all())
        actor = DirectoryActor(origin)
        group_members_change(group=group, added=wanted - current, removed=current - wanted, acting_user=actor)
    return group


@transaction.atomic
def directory_group_delete(*, group: Group, origin: Origin) -> None:
    """The directory deleted its group: its members lose what it gave them (recorded), then it goes."""
    group_members_change(group=group, removed=list(group.user_set.all()), acting_user=DirectoryActor(origin))
    group.delete()


@transaction.atomic
def directory_person_remove(*, user: User, origin: Origin) -> None:
    """The directory deleted the person. They are deactivated, not deleted, so that the permission
    trail and their conversations keep a name; their sessions end at once. They leave the
    directory's groups too, so that if it creates them again they get only what it then gives."""
    _refuse_break_glass(user, user.username)
    actor = DirectoryActor(origin)
    user_activation_set(user=user, active=False, acting_user=actor)
    _memberships_bring_in_line(user, origin, [], actor)


def _person_user(person: DirectoryPerson) -> User:
    """The user this person is: by the directory's id, else by username; a new one if neither."""
    match = Q(username=person.username)
    if person.external_id:
        match |= Q(origin=person.origin, external_id=person.external_id)
    found = list(User.objects.select_for_update().filter(match))
    if not found:
        user = User(username=person.username, origin=person.origin, external_id=person.external_id)
        user.set_unusable_password()
        return user
    if len(found) > 1:
        raise DirectoryConflict(
            f"The directory renamed a person to '{person.username}', a name another Enclave user already has."
        )
    user = found[0]
    _refuse_break_glass(user, person.username)
    return user


def _refuse_break_glass(user: User, username: str) -> None:
    if user.is_superuser and user.origin == Origin.LOCAL:
        raise DirectoryConflict(
            f"The directory describes '{username}', who is a local superuser in Enclave; "
            "the break-glass account is never taken over by a directory."
        )


def _person_fields_apply(user: User, person: DirectoryPerson) -> None:
    if user.origin == Origin.LOCAL:
        # A local account the directory now describes becomes the directory's; its password goes,
        # so the directory is the only way in (the break-glass superuser is refused above).
        user.origin = person.origin
        user.set_unusable_password()
    if user.origin == person.origin and person.external_id:
        user.external_id = person.external_id
    user.username = person.username
    for field in ("email", "first_name", "last_name"):
        if getattr(person, field) or person.empty_clears:
            setattr(user, field, getattr(person, field))
    user.directory_synced_at = timezone.now()
    user.save()


def _memberships_bring_in_line(user: User, origin: Origin, names: Sequence[str], actor: DirectoryActor) -> None:
    """The user's groups from this directory become exactly ``names``; other groups are kept."""
    claimed = {_directory_group(origin, name, "") for name in dict.fromkeys(names) if name}
    kept = {group for group in user.groups.all() if not _owned_by(group, origin)}
    user_groups_set(user=user, groups=kept | claimed, acting_user=actor)


def _directory_group(origin: Origin, name: str, external_id: str) -> Group:
    """The group this directory calls ``name`` (or knows by ``external_id``), made its own."""
    known = DirectoryGroup.objects.filter(origin=origin, external_id=external_id) if external_id else None
    mark = known.select_related("group").first() if known is not None else None
    group = mark.group if mark is not None else Group.objects.get_or_create(name=name)[0]
    if group.name != name:
        if Group.objects.filter(name=name).exists():
            raise DirectoryConflict(f"The directory renamed a group to '{name}', a name another group already has.")
        group.name = name
        group.save(update_fields=["name"])
    mark = DirectoryGroup.objects.filter(group=group).first()
    if mark is None:
        DirectoryGroup.objects.create(group=group, origin=origin, external_id=external_id)
    elif mark.origin == origin and external_id and mark.external_id != external_id:
        mark.external_id = external_id
        mark.save(update_fields=["external_id", "synced_at"])
    # A group another directory owns stays that directory's: this one may add members, not own it.
    return group


def _owned_by(group: Group, origin: Origin) -> bool:
    mark = getattr(group, "directory", None)
    return mark is not None and mark.origin == origin
