"""What a directory (OIDC, LDAP, SCIM) may change through accounts/directory.py, and what it may not:
its own groups' memberships follow it, Enclave's own grants and groups stay, a sign-in never lets a
deactivated person back in, the break-glass superuser is never taken over, and each change is
recorded with the directory as the actor and applies to the next question."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.directory import (
    DirectoryConflict,
    DirectoryPerson,
    directory_group_delete,
    directory_group_sync,
    directory_person_remove,
    directory_person_sync,
    directory_person_update,
)
from accounts.models import Origin, PermissionChange, Role, User
from core.rls import acting_as
from knowledge.selectors.documents import document_list
from tests.conftest import Corpus, People
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def oidc_person(username: str = "dana", groups: list[str] | None = None, **fields: Any) -> DirectoryPerson:
    return DirectoryPerson(
        origin=Origin.OIDC, external_id=f"sub-{username}", username=username, groups=groups, **fields
    )


def visible_titles(user: User) -> set[str]:
    """What the user's next request would list, through the application filter and RLS both."""
    user.refresh_from_db()
    with acting_as(user):
        return {document.title for document in document_list(fetched_by=user)}


def test_a_first_sign_in_creates_the_user_in_the_directorys_groups(corpus: Corpus) -> None:
    user = directory_person_sync(oidc_person(groups=["hr"], email="dana@example.com"))
    assert (user.origin, user.external_id, user.email) == (Origin.OIDC, "sub-dana", "dana@example.com")
    assert not user.has_usable_password()
    assert "Salary bands" in visible_titles(user)  # the hr group's grant on the handbook now reaches dana
    assert Group.objects.get(name="hr").directory.origin == Origin.OIDC


def test_a_membership_the_directory_drops_takes_the_documents_away_at_once(corpus: Corpus) -> None:
    directory_person_sync(oidc_person(groups=["hr"]))
    user = directory_person_sync(oidc_person(groups=[]))
    assert "Salary bands" not in visible_titles(user)
    trail = PermissionChange.objects.filter(who="user dana").order_by("id")
    assert [(entry.action, entry.changed_by_name) for entry in trail] == [
        (PermissionChange.Action.MEMBER_ADDED, "directory (Single sign-on (OIDC))"),
        (PermissionChange.Action.MEMBER_REMOVED, "directory (Single sign-on (OIDC))"),
    ]


def test_groups_made_in_enclave_are_kept_when_the_directory_syncs(people: People) -> None:
    local = Group.objects.create(name="project-x")
    user = directory_person_sync(oidc_person(groups=["engineering"]))
    user.groups.add(local)
    user = directory_person_sync(oidc_person(groups=["support"]))
    assert {group.name for group in user.groups.all()} == {"project-x", "support"}


def test_the_directory_id_finds_a_renamed_person(people: People) -> None:
    first = directory_person_sync(oidc_person("dana"))
    renamed = directory_person_sync(
        DirectoryPerson(origin=Origin.OIDC, external_id="sub-dana", username="dana.smith", groups=None)
    )
    assert renamed.pk == first.pk and renamed.username == "dana.smith"


def test_a_rename_onto_someone_elses_name_is_refused_in_words(people: People) -> None:
    directory_person_sync(oidc_person("dana"))
    with pytest.raises(DirectoryConflict, match="another Enclave user already has"):
        directory_person_sync(DirectoryPerson(origin=Origin.OIDC, external_id="sub-dana", username="bob"))


def test_the_break_glass_superuser_is_never_taken_over(people: People) -> None:
    UserFactory.create(username="root", is_superuser=True)
    with pytest.raises(DirectoryConflict, match="break-glass"):
        directory_person_sync(oidc_person("root", groups=["hr"]))
    assert User.objects.get(username="root").has_usable_password()


def test_a_sign_in_does_not_let_a_deactivated_person_back_in(people: People) -> None:
    user = directory_person_sync(oidc_person())
    directory_person_remove(user=user, origin=Origin.SCIM)
    assert not directory_person_sync(oidc_person()).is_active


def test_deactivation_signs_the_person_out_at_their_next_request(people: People) -> None:
    browser = Client()
    browser.force_login(people.bob)
    assert browser.get("/").status_code == 200
    directory_person_sync(DirectoryPerson(origin=Origin.SCIM, external_id="s1", username="bob", active=False))
    assert browser.get("/").status_code == 302  # to the sign-in page


def test_an_admin_claim_gives_and_takes_the_knowledge_admin_role(people: People) -> None:
    assert directory_person_sync(oidc_person(knowledge_admin=True)).role == Role.KNOWLEDGE_ADMIN
    assert directory_person_sync(oidc_person(knowledge_admin=False)).role == Role.STAFF


def test_a_provisioned_groups_members_are_exactly_the_directorys(people: People, corpus: Corpus) -> None:
    group = directory_group_sync(origin=Origin.SCIM, name="hr", external_id="g1", members=[people.alice])
    assert set(group.user_set.all()) == {people.alice}
    assert "Salary bands" not in visible_titles(people.bob)  # bob was in hr through Enclave; SCIM owns it now
    renamed = directory_group_sync(origin=Origin.SCIM, name="people-ops", external_id="g1")
    assert renamed.pk == group.pk and renamed.name == "people-ops"


def test_a_deleted_directory_group_takes_its_documents_away(people: People, corpus: Corpus) -> None:
    group = directory_group_sync(origin=Origin.SCIM, name="hr", external_id="g1", members=[people.bob])
    directory_group_delete(group=group, origin=Origin.SCIM)
    assert "Salary bands" not in visible_titles(people.bob)
    assert "Salary bands" in visible_titles(people.alice)  # granted to her directly: unchanged


def test_the_console_says_where_users_and_groups_come_from(people: People) -> None:
    directory_person_sync(oidc_person(groups=["support"]))
    admin = Client()
    admin.force_login(people.admin)
    assert "Single sign-on (OIDC)" in admin.get("/admin/auth/group/").content.decode()
    assert "Single sign-on (OIDC)" in admin.get("/admin/accounts/user/?origin=oidc").content.decode()


def scim_person(username: str = "dana", **fields: Any) -> DirectoryPerson:
    return DirectoryPerson(origin=Origin.SCIM, external_id="scim-1", username=username, **fields)


def test_an_update_by_the_directorys_handle_renames_whatever_the_users_origin(people: People) -> None:
    signed_in = directory_person_sync(oidc_person("dana"))  # an OIDC user: their external_id is the sub
    renamed = directory_person_update(user=signed_in, person=scim_person("dana.scully", email="d@example.com"))
    assert (renamed.pk, renamed.username, renamed.email) == (signed_in.pk, "dana.scully", "d@example.com")
    assert User.objects.filter(username__startswith="dana").count() == 1
    assert (renamed.origin, renamed.external_id) == (Origin.OIDC, "sub-dana")  # the other directory's id stays


def test_an_update_onto_a_taken_name_or_the_break_glass_account_is_refused(people: People) -> None:
    dana = directory_person_sync(scim_person())
    with pytest.raises(DirectoryConflict, match="another Enclave user already has"):
        directory_person_update(user=dana, person=scim_person("bob"))
    root = UserFactory.create(username="root", is_superuser=True)
    with pytest.raises(DirectoryConflict, match="break-glass"):
        directory_person_update(user=root, person=scim_person("root", active=False))
    assert User.objects.get(username="root").is_active


def test_a_directory_that_sends_the_whole_person_clears_what_it_leaves_empty(people: People) -> None:
    directory_person_sync(scim_person(email="d@example.com", first_name="Dana"))
    assert directory_person_sync(scim_person()).email == "d@example.com"  # a sign-in's missing claim
    cleared = directory_person_sync(scim_person(empty_clears=True))
    assert (cleared.email, cleared.first_name) == ("", "")


def test_a_person_the_directory_deletes_leaves_its_groups_and_keeps_enclaves(people: People, corpus: Corpus) -> None:
    group = directory_group_sync(origin=Origin.SCIM, name="hr", external_id="g1", members=[people.bob])
    local = Group.objects.create(name="project-x")
    people.bob.groups.add(local)
    directory_person_remove(user=people.bob, origin=Origin.SCIM)
    bob = User.objects.get(pk=people.bob.pk)
    assert not bob.is_active and list(bob.groups.all()) == [local]
    assert list(group.user_set.all()) == []
    trail = PermissionChange.objects.filter(who="user bob", changed_by_name="directory (SCIM provisioning)")
    assert {entry.action for entry in trail} >= {
        PermissionChange.Action.USER_DEACTIVATED,
        PermissionChange.Action.MEMBER_REMOVED,
    }


def test_the_directory_cannot_delete_the_break_glass_superuser(people: People) -> None:
    root = UserFactory.create(username="root", is_superuser=True)
    with pytest.raises(DirectoryConflict, match="break-glass"):
        directory_person_remove(user=root, origin=Origin.SCIM)
    assert User.objects.get(username="root").is_active
