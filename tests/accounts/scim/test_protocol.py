"""What a directory's SCIM client sees when it asks wrongly or asks for too much: every refusal in
SCIM's error schema with words saying what was wrong (never a 500), nothing changed by a refused
request, lists filtered and paged in SQL, and the console told how the last request went."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.directory import DirectoryPerson, directory_group_sync, directory_person_sync
from accounts.models import Origin, ScimToken, User
from accounts.scim.tokens import scim_last_request, scim_token_revoke
from tests.accounts.scim.conftest import ERROR_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, Answer, Scim
from tests.conftest import People
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def refused(answer: Answer, status: int, scim_type: str | None = None) -> str:
    """The error's words, after checking it is SCIM's error with this status (and scimType)."""
    assert answer.status == status, answer.body
    assert answer.body["schemas"] == [ERROR_SCHEMA] and answer.body["status"] == str(status)
    if scim_type is not None:
        assert answer.body.get("scimType") == scim_type
    return str(answer.body["detail"])


def user(scim: Scim, username: str, **attributes: Any) -> dict[str, Any]:
    created = scim.post("Users", {"schemas": [USER_SCHEMA], "userName": username, **attributes})
    assert created.status == 201, created.body
    return dict(created.body)


def test_without_a_valid_token_the_directory_gets_401_and_learns_nothing(scim: Scim) -> None:
    user(scim, "dana")
    for token in ("", "scim_not-a-token", "enc_an-api-token"):
        assert "token" in refused(scim.send("GET", "Users", token=token), 401)
    anonymous = Client().get("/scim/v2/Users")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    scim_token_revoke(token=ScimToken.objects.get())
    assert "revoked" in refused(scim.get("Users"), 401)


def test_malformed_bodies_get_400_in_the_scim_error_schema(scim: Scim) -> None:
    assert "JSON" in refused(scim.send("POST", "Users", raw="{not json"), 400, "invalidSyntax")
    assert "foo" in refused(
        scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "x", "foo": 1}), 400, "invalidSyntax"
    )
    assert "userName" in refused(scim.post("Users", {"schemas": [USER_SCHEMA], "active": True}), 400)
    assert refused(scim.send("POST", "Users", raw="[1, 2]"), 400, "invalidSyntax")
    assert refused(scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "x", "active": "maybe"}), 400)
    dana = user(scim, "dana")
    assert refused(scim.send("PATCH", f"Users/{dana['id']}", {"Operations": "nope"}), 400)
    bad_op = scim.patch(f"Users/{dana['id']}", [{"op": "merge", "path": "active", "value": False}])
    assert "merge" in refused(bad_op, 400, "invalidValue")
    assert refused(scim.post("Groups", {"schemas": [GROUP_SCHEMA]}), 400)
    assert User.objects.filter(username="x").count() == 0


def test_bad_and_unsupported_filters_are_refused_in_words(scim: Scim) -> None:
    assert refused(scim.get("Users?filter=userName eq"), 400, "invalidFilter")
    assert refused(scim.get('Users?filter=nosuchattribute eq "x"'), 400, "invalidFilter")
    title = refused(scim.get('Users?filter=title eq "Analyst"'), 400, "invalidFilter")
    assert "does not keep 'title'" in title
    assert refused(scim.get('Users?filter=active eq "yes"'), 400, "invalidFilter")
    assert refused(scim.get('Users?filter=meta.lastModified gt "yesterday"'), 400, "invalidFilter")
    assert refused(scim.get("Users?startIndex=x"), 400)


def test_filters_find_what_directories_look_up(scim: Scim) -> None:
    dana = user(scim, "Dana@Example.com", externalId="00u1", emails=[{"value": "dana@example.com"}])
    user(scim, "erin@example.com", active=False)
    group = scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "HR", "externalId": "g-1"}).body

    def found(resource: str, query: str) -> list[str]:
        answer = scim.get(f"{resource}?filter={query}")
        assert answer.status == 200, answer.body
        return [item.get("userName") or item.get("displayName") for item in answer.body["Resources"]]

    assert found("Users", 'userName eq "dana@example.com"') == ["Dana@Example.com"]  # userName is case-insensitive
    assert found("Users", 'externalId eq "00u1"') == ["Dana@Example.com"]
    assert found("Users", 'externalId eq "00U1"') == []  # externalId is case-exact
    assert found("Users", "active eq false") == ["erin@example.com"]
    assert found("Users", 'userName sw "erin" or emails.value co "dana"') == ["Dana@Example.com", "erin@example.com"]
    assert found("Users", 'not (userName ew "example.com")') == []
    assert found("Users", f'id eq "{dana["id"]}"') == ["Dana@Example.com"]
    assert found("Users", 'id eq "not-an-id"') == []
    assert found("Groups", 'displayName eq "hr"') == ["HR"]
    assert found("Groups", 'externalId eq "g-1"') == ["HR"]
    scim.patch(f"Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": dana["id"]}]}])
    assert found("Groups", f'members.value eq "{dana["id"]}"') == ["HR"]
    assert found("Users", f'groups.value eq "{group["id"]}"') == ["Dana@Example.com"]


def test_lists_are_paged_with_start_index_and_count(scim: Scim) -> None:
    ids = [user(scim, f"user{n:02d}")["id"] for n in range(12)]
    page = scim.get("Users?startIndex=4&count=5").body
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (12, 4, 5)
    assert [item["id"] for item in page["Resources"]] == ids[3:8]
    assert [item["id"] for item in scim.get("Users?startIndex=11&count=5").body["Resources"]] == ids[10:]
    empty = scim.get("Users?count=0").body
    assert (empty["totalResults"], empty["Resources"]) == (12, [])


def test_listing_costs_the_same_queries_for_many_users_and_members(scim: Scim) -> None:
    def queries_to_list(resource: str) -> int:
        with CaptureQueriesContext(connection) as listed:
            assert scim.get(resource).status == 200
        return len(listed)

    def provision(count: int, start: int) -> list[dict[str, str]]:
        return [{"value": user(scim, f"user{n:02d}")["id"]} for n in range(start, start + count)]

    hr = scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "hr", "members": provision(2, 0)}).body
    few = (queries_to_list("Users"), queries_to_list("Groups"))
    members = [*hr["members"], *provision(20, 2)]
    scim.put(f"Groups/{hr['id']}", {**hr, "members": members})
    scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "finance", "members": members})
    assert (queries_to_list("Users"), queries_to_list("Groups")) == few


def test_unknown_ids_get_404(scim: Scim) -> None:
    assert "no-such-id" in refused(scim.get("Users/no-such-id"), 404)
    assert refused(scim.get("Groups/00000000-0000-0000-0000-000000000000"), 404)
    assert refused(scim.patch("Users/00000000-0000-0000-0000-000000000000", [{"op": "replace", "value": {}}]), 404)
    assert refused(scim.delete("Groups/nope"), 404)
    assert refused(scim.get("Nonsense"), 404)


def test_conflicts_get_409_and_change_nothing(scim: Scim, people: People) -> None:
    dana = user(scim, "dana")
    assert "dana" in refused(scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "dana"}), 409, "uniqueness")
    assert refused(scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "DANA"}), 409, "uniqueness")
    erin = user(scim, "erin")
    renamed = scim.patch(f"Users/{erin['id']}", [{"op": "replace", "path": "userName", "value": "dana"}])
    assert "already has" in refused(renamed, 409)
    taken = scim.patch(f"Users/{erin['id']}", [{"op": "replace", "path": "userName", "value": "bob"}])
    assert "already has" in refused(taken, 409)  # a local user's name too
    assert User.objects.filter(username="erin").exists()
    scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "support"})
    assert refused(scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "support"}), 409, "uniqueness")
    assert dana["id"] != erin["id"]


def test_the_break_glass_superuser_and_other_directories_groups_are_not_taken(scim: Scim, people: People) -> None:
    UserFactory.create(username="root", is_superuser=True)
    assert "break-glass" in refused(scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "root"}), 409)
    assert User.objects.get(username="root").has_usable_password()
    directory_group_sync(origin=Origin.LDAP, name="finance", members=[people.alice])
    owned = scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "finance", "members": []})
    assert "LDAP" in refused(owned, 409)
    assert list(User.objects.get(username="alice").groups.values_list("name", flat=True)) == ["finance"]


def test_a_local_user_the_directory_provisions_becomes_its_own(scim: Scim, people: People) -> None:
    """Okta finds no SCIM user "bob" and creates him: Enclave's bob is taken over, not duplicated;
    his password goes (he signs in through the directory) and his Enclave groups stay."""
    created = user(scim, "bob", name={"givenName": "Bob"})
    bob = User.objects.get(username="bob")
    assert (bob.pk, bob.origin, bob.first_name) == (people.bob.pk, Origin.SCIM, "Bob")
    assert not bob.has_usable_password() and [g.name for g in bob.groups.all()] == ["hr"]
    assert "groups" not in created  # hr is Enclave's, not the directory's


def test_a_refused_patch_changes_nothing(scim: Scim) -> None:
    dana = user(scim, "dana", name={"givenName": "Dana"})
    answer = scim.patch(
        f"Users/{dana['id']}",
        [
            {"op": "replace", "path": "name.givenName", "value": "Changed"},
            {"op": "replace", "path": "userName", "value": ""},
        ],
    )
    assert refused(answer, 400)
    assert User.objects.get(username="dana").first_name == "Dana"


def test_a_member_that_is_not_a_provisioned_user_is_refused(scim: Scim, people: People) -> None:
    missing = scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "nobody"}]})
    assert "nobody" in refused(missing, 400, "invalidValue")
    nested = scim.post(
        "Groups", {"schemas": [GROUP_SCHEMA], "displayName": "y", "members": [{"value": "1", "type": "Group"}]}
    )
    assert "users only" in refused(nested, 400, "invalidValue")


def test_the_console_learns_how_the_last_request_went(scim: Scim) -> None:
    user(scim, "dana")
    noted = scim_last_request()
    assert noted is not None and (noted.last_request, noted.last_status) == ("POST /scim/v2/Users", 201)
    assert noted.last_result == "User dana"
    scim.post("Users", {"schemas": [USER_SCHEMA], "userName": "dana"})
    noted = scim_last_request()
    assert noted is not None and noted.last_status == 409 and "exists" in noted.last_result
    scim.send("GET", "Users", token="scim_wrong")
    assert scim_last_request() == noted  # a refused token writes nothing (anyone can send one)


def test_the_command_prints_a_token_once_and_the_console_lists_and_revokes_it(people: People) -> None:
    out, err = StringIO(), StringIO()
    call_command("scim_token_create", "--name", "entra", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("scim_") and "not shown again" in err.getvalue()
    token = ScimToken.objects.get()
    assert token.key_hash != secret and secret not in str(token.__dict__)
    assert Scim(secret).get("Users").status == 200
    admin = Client()
    admin.force_login(people.admin)
    listed = admin.get("/admin/accounts/scimtoken/").content.decode()
    assert "entra" in listed and token.prefix in listed
    admin.post("/admin/accounts/scimtoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert Scim(secret).get("Users").status == 401
    staff = Client()
    staff.force_login(people.bob)
    assert staff.get("/admin/accounts/scimtoken/").status_code == 302  # knowledge admins only


def test_the_console_creates_a_token_and_shows_it_once(people: People) -> None:
    admin = Client()
    admin.force_login(people.admin)
    page = admin.post("/admin/accounts/scimtoken/add/", {"name": "okta"})
    secret = page.context["secret"]
    assert secret in page.content.decode() and "/scim/v2/" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert Scim(secret).get("ServiceProviderConfig").status == 200


def test_a_person_the_directory_renamed_through_oidc_keeps_one_account(scim: Scim) -> None:
    """Okta signs people in (OIDC) and provisions them (SCIM): a SCIM rename renames the same user."""
    signed_in = directory_person_sync(DirectoryPerson(origin=Origin.OIDC, external_id="sub-1", username="gina"))
    created = user(scim, "gina")
    scim.patch(f"Users/{created['id']}", [{"op": "replace", "path": "userName", "value": "gina.r"}])
    assert User.objects.get(pk=signed_in.pk).username == "gina.r" and User.objects.count() == 1
