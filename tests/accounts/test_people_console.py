"""The console's people pages save through accounts/services.py: each change of role, activation or
group membership is made and recorded by one service call, under the admin who made it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet
from django.test import Client

from accounts.models import PermissionChange, Role, User
from tests.conftest import Corpus, People

pytestmark = pytest.mark.django_db

Action = PermissionChange.Action
APPLIES = "Access changes apply from the next question anyone asks."


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def trail_of(user: User) -> QuerySet[PermissionChange]:
    return PermissionChange.objects.filter(changed_by=user).order_by("id")


def user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The user's change form as the browser posts it, with these fields changed."""
    data: dict[str, Any] = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "role": user.role,
        "groups": [group.pk for group in user.groups.all()],
        **({"is_active": "on"} if user.is_active else {}),
    }
    return {**data, **changes}


def sidebar_of(user: User) -> str:
    return signed_in(user).get("/").content.decode()


def test_the_user_page_links_to_what_the_user_can_see(people: People) -> None:
    page = signed_in(people.admin).get(f"/admin/accounts/user/{people.bob.pk}/change/").content.decode()
    assert f'href="/admin/accounts/user/{people.bob.pk}/access/"' in page
    assert "Every source and document this user can see, and why" in page


def test_a_role_and_membership_change_on_the_user_page_is_made_and_recorded(people: People, corpus: Corpus) -> None:
    url = f"/admin/accounts/user/{people.bob.pk}/change/"
    response = signed_in(people.admin).post(
        url, user_form(people.bob, role=Role.KNOWLEDGE_ADMIN, groups=[]), follow=True
    )
    assert APPLIES in response.content.decode()
    bob = User.objects.get(pk=people.bob.pk)
    assert bob.role == Role.KNOWLEDGE_ADMIN and bob.is_staff and not bob.groups.exists()
    assert [(c.action, c.who, c.what, c.detail) for c in trail_of(people.admin)] == [
        (Action.ROLE_CHANGED, "user bob", "", "Staff → Knowledge admin"),
        (Action.MEMBER_REMOVED, "user bob", "group hr", ""),
    ]


def test_deactivating_on_the_user_page_is_recorded_and_hides_everything(people: People, corpus: Corpus) -> None:
    assert "Salary bands" in sidebar_of(people.bob)
    form = user_form(people.bob)
    del form["is_active"]
    signed_in(people.admin).post(f"/admin/accounts/user/{people.bob.pk}/change/", form)
    assert not User.objects.get(pk=people.bob.pk).is_active
    assert [(c.action, c.who) for c in trail_of(people.admin)] == [(Action.USER_DEACTIVATED, "user bob")]
    assert signed_in(people.bob).get("/").status_code == 302  # signed out


def test_saving_the_user_page_unchanged_records_nothing_and_says_nothing(people: People) -> None:
    url = f"/admin/accounts/user/{people.bob.pk}/change/"
    response = signed_in(people.admin).post(url, user_form(people.bob, first_name="Bob"), follow=True)
    assert User.objects.get(pk=people.bob.pk).first_name == "Bob"
    assert APPLIES not in response.content.decode()
    assert not trail_of(people.admin).exists()


def member_rows(people: People, *rows: dict[str, Any]) -> dict[str, Any]:
    """The group page with its existing member rows (bob's first), as the browser posts it."""
    bob_row = User.groups.through.objects.get(user=people.bob, group=people.hr)
    data = {"name": "hr", "User_groups-TOTAL_FORMS": str(len(rows)), "User_groups-INITIAL_FORMS": "1"}
    for index, row in enumerate(rows):
        data |= {f"User_groups-{index}-{field}": value for field, value in row.items()}
        data[f"User_groups-{index}-group"] = str(people.hr.pk)
    data["User_groups-0-id"] = str(bob_row.pk)
    return data


def test_a_member_row_edited_to_someone_else_is_one_out_and_one_in(people: People, corpus: Corpus) -> None:
    url = f"/admin/auth/group/{people.hr.pk}/change/"
    response = signed_in(people.admin).post(url, member_rows(people, {"user": people.charlie.pk}), follow=True)
    assert APPLIES in response.content.decode()
    assert set(people.hr.user_set.all()) == {people.charlie}
    assert "Salary bands" in sidebar_of(people.charlie) and "Salary bands" not in sidebar_of(people.bob)
    assert [(c.action, c.who) for c in trail_of(people.admin)] == [
        (Action.MEMBER_REMOVED, "user bob"),
        (Action.MEMBER_ADDED, "user charlie"),
    ]


def test_a_member_row_deleted_is_recorded_and_an_unchanged_page_is_not(people: People) -> None:
    url = f"/admin/auth/group/{people.hr.pk}/change/"
    client = signed_in(people.admin)
    client.post(url, member_rows(people, {"user": people.bob.pk}))
    assert not trail_of(people.admin).exists()
    client.post(url, member_rows(people, {"user": people.bob.pk, "DELETE": "on"}))
    assert not people.hr.user_set.exists()
    assert [(c.action, c.who, c.what) for c in trail_of(people.admin)] == [
        (Action.MEMBER_REMOVED, "user bob", "group hr")
    ]


def test_the_trail_is_listed_under_accounts_and_linked_from_the_console_home(people: People) -> None:
    client = signed_in(people.admin)
    signed_in(people.admin).post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [people.bob.pk]})
    assert 'href="/admin/accounts/permissionchange/"' in client.get("/admin/").content.decode()
    assert "User deactivated" in client.get("/admin/accounts/permissionchange/").content.decode()
