"""Personal API tokens: shown once and stored hashed, scoped, expiring, revocable; created by their
user (API), by an admin (console) or on the command line."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import users_deactivate
from accounts.tokens import TokenError, token_create, token_hash
from tests.api.conftest import bearer
from tests.conftest import People

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_only_as_its_hash_and_works_as_a_bearer_token(people: People) -> None:
    issued = token_create(user=people.alice, name="helpdesk", scopes=["ask", "read"])
    assert issued.secret.startswith("enc_") and len(issued.secret) > 40
    stored = ApiToken.objects.get()
    assert stored.key_hash == token_hash(issued.secret) and issued.secret not in str(stored.__dict__)
    assert stored.prefix == issued.secret[:12]
    me = bearer(issued.secret).get("/api/v1/me").json()
    assert me["username"] == "alice" and me["token"]["name"] == "helpdesk" and me["token"]["scopes"] == ["ask", "read"]
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("revoke", "The token has been revoked."),
        ("expire", "The token has expired."),
        ("deactivate", "The token's user is deactivated."),
        ("garble", "The token is not valid."),
    ],
)
def test_a_token_that_may_no_longer_be_used_gets_a_401_saying_why(people: People, change: str, message: str) -> None:
    issued = token_create(user=people.alice, name="t", scopes=["read"])
    secret = issued.secret
    if change == "revoke":
        ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())
    elif change == "expire":
        ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif change == "deactivate":
        users_deactivate(users=[people.alice], acting_user=people.admin)
    else:
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    response = bearer(secret).get("/api/v1/documents")
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": message, "fields": {}}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_admin_scope_is_for_knowledge_admins_only(people: People) -> None:
    with pytest.raises(TokenError, match="Only knowledge admins' tokens can have the admin scope"):
        token_create(user=people.alice, name="t", scopes=["admin"])
    with pytest.raises(TokenError, match="Unknown scope 'write'"):
        token_create(user=people.admin, name="t", scopes=["write"])
    with pytest.raises(TokenError, match="Only knowledge admins may create tokens for someone else"):
        token_create(user=people.bob, name="t", scopes=["read"], acting_user=people.alice)
    assert token_create(user=people.admin, name="t", scopes=["admin"]).token.scopes == ["admin"]


def test_users_create_list_and_revoke_their_own_tokens_over_the_api(people: People) -> None:
    session = APIClient()
    session.force_login(people.bob)  # the page's own calls, signed in
    created = session.post("/api/v1/tokens", {"name": "chat bot", "scopes": ["ask"]}, format="json")
    assert created.status_code == 201
    secret = created.json()["token"]
    assert bearer(secret).get("/api/v1/me").json()["username"] == "bob"
    listed = session.get("/api/v1/tokens").json()["results"]
    assert [t["name"] for t in listed] == ["chat bot"] and "token" not in listed[0]  # shown once only

    token_id = created.json()["id"]
    assert APIClient().get(f"/api/v1/tokens/{token_id}").status_code == 401
    charlie = bearer(token_create(user=people.charlie, name="c", scopes=["read"]).secret)
    assert charlie.get(f"/api/v1/tokens/{token_id}").status_code == 404
    assert charlie.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert session.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert bearer(secret).get("/api/v1/me").status_code == 401
    assert session.get(f"/api/v1/tokens/{token_id}").json()["active"] is False


def test_a_token_cannot_create_a_stronger_or_longer_lived_token(people: People) -> None:
    expires = timezone.now() + timedelta(days=1)
    client = bearer(token_create(user=people.admin, name="t", scopes=["read"], expires_at=expires).secret)
    wider = client.post("/api/v1/tokens", {"name": "wider", "scopes": ["read", "admin"]}, format="json")
    assert wider.status_code == 400 and "lacks 'admin'" in wider.json()["message"]
    forever = client.post("/api/v1/tokens", {"name": "forever", "scopes": ["read"]}, format="json")
    assert forever.status_code == 400 and "expire by its own expiry" in forever.json()["message"]
    later = expires - timedelta(hours=1)
    body = {"name": "ok", "scopes": ["read"], "expires_at": later.isoformat()}
    ok = client.post("/api/v1/tokens", body, format="json")
    assert ok.status_code == 201


def test_the_command_prints_the_token_alone_on_standard_output(people: People) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("token_create", "alice", "--name", "helpdesk", "--scopes", "ask,read", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert re.fullmatch(r"enc_[\w-]{43}", secret)
    assert "not shown again" in err.getvalue() and "never expires" in err.getvalue()
    assert bearer(secret).get("/api/v1/me").json()["token"]["scopes"] == ["ask", "read"]
    with pytest.raises(CommandError, match="admin scope"):
        call_command("token_create", "alice", "--name", "x", "--scopes", "admin", stdout=out, stderr=err)
    with pytest.raises(CommandError, match="No user called 'nobody'"):
        call_command("token_create", "nobody", "--name", "x", stdout=out, stderr=err)


def test_admins_create_a_token_for_a_user_in_the_console_and_see_it_once(people: People) -> None:
    console = Client()
    console.force_login(people.admin)
    form = {"user": people.bob.pk, "name": "portal", "scopes": ["read"], "expires_at_0": "", "expires_at_1": ""}
    page = console.post("/admin/accounts/apitoken/add/", form)
    assert page.status_code == 200, page.content
    secret = re.search(rb'id="issued-token"[^>]*>(enc_[\w-]+)<', page.content).group(1).decode()  # type: ignore[union-attr]
    assert "no-store" in page["Cache-Control"]
    assert bearer(secret).get("/api/v1/me").json()["username"] == "bob"
    token = ApiToken.objects.get()
    assert token.created_by == people.admin
    listing = console.get("/admin/accounts/apitoken/").content.decode()
    assert "portal" in listing and secret not in listing

    refused = console.post("/admin/accounts/apitoken/add/", {**form, "scopes": ["admin"]})
    assert b"admin scope" in refused.content and ApiToken.objects.count() == 1

    console.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert bearer(secret).get("/api/v1/me").status_code == 401


def test_staff_cannot_reach_the_token_console(people: People) -> None:
    staff = Client()
    staff.force_login(people.alice)
    assert staff.get("/admin/accounts/apitoken/").status_code == 302
