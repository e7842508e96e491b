from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import PermissionChange, Role, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("user_add", *args, stdout=out)
    return out.getvalue()


def test_creates_a_user_in_groups_with_a_password_shown_once() -> None:
    output = run("dana", "--group", "hr", "--group", "finance")
    password = output.split("password: ")[1].strip()
    dana = User.objects.get(username="dana")
    assert sorted(dana.groups.values_list("name", flat=True)) == ["finance", "hr"]
    assert authenticate(username="dana", password=password) == dana
    assert not dana.is_staff  # staff ask questions; they do not enter the admin console


def test_running_again_changes_the_role_and_keeps_the_password() -> None:
    password = run("erin").split("password: ")[1].strip()
    output = run("erin", "--role", "knowledge_admin", "--group", "hr")
    assert "password" not in output
    erin = User.objects.get(username="erin")
    assert erin.role == Role.KNOWLEDGE_ADMIN and erin.is_staff and erin.is_knowledge_admin
    assert authenticate(username="erin", password=password) == erin


def test_what_the_command_changes_is_recorded_as_the_systems_doing() -> None:
    run("erin", "--group", "hr")  # a new user's role is no change; joining hr is
    run("erin", "--role", "knowledge_admin", "--group", "hr")
    run("erin", "--role", "knowledge_admin", "--group", "hr")  # nothing left to change
    trail = [
        (c.changed_by, c.changed_by_name, c.action, c.what, c.detail) for c in PermissionChange.objects.order_by("id")
    ]
    assert trail == [
        (None, "system", PermissionChange.Action.MEMBER_ADDED, "group hr", ""),
        (None, "system", PermissionChange.Action.ROLE_CHANGED, "", "Staff → Knowledge admin"),
    ]
