"""The access boundary of every API operation: no credentials 401, a revoked or expired token 401,
a token without the scope 403, charlie 404 on alice's objects, bob as the visibility rule says.

CALLS lists every operation of the schema (a test checks that), with alice's objects in its paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.tokens import token_create
from assistant.models import Citation, Message
from assistant.services.conversations import conversation_create, question_submit
from core.rls import acting_as_system
from knowledge.models import Document, Grant
from knowledge.services.reading import source_root
from tests.api.conftest import bearer, token_for
from tests.conftest import Corpus, People

pytestmark = pytest.mark.django_db


@dataclass
class World:
    people: People
    corpus: Corpus
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(people: People, corpus: Corpus, settings: Any, tmp_path: Path) -> World:
    """alice's conversation (an answer citing her memo), her token, and originals on disk."""
    settings.UPLOADS_DIR = tmp_path / "uploads"
    for document in (corpus.memo, corpus.salaries, corpus.notice):
        root = source_root(document.source)
        root.mkdir(parents=True, exist_ok=True)
        (root / document.uri).write_text(f"The original of {document.title}.")
    conversation = conversation_create(owner=people.alice)
    answer = question_submit(conversation=conversation, asked_by=people.alice, text="What does the memo say?")
    Message.objects.filter(pk=answer.pk).update(status=Message.Status.ANSWERED, text="It approves the merger [1].")
    with acting_as_system():
        memo_chunk = corpus.memo.chunks.get()
    Citation.objects.create(message=answer, chunk=memo_chunk, number=1, cited=True)
    token = token_create(user=people.alice, name="alice's", scopes=["read"]).token
    grant = Grant.objects.get(user=people.alice, document=corpus.memo)
    ids = {
        "conversation": conversation.pk,
        "message": answer.pk,
        "token": token.pk,
        "document": corpus.memo.pk,  # alice's alone
        "source": corpus.handbook.pk,
        "grant": grant.pk,
    }
    return World(people, corpus, ids)


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {conversation}, {message}, {token}, {document}, {source}, {grant} are alice's objects
    scope: str | None  # the token scope it needs; None: any token
    body: dict[str, Any] | None = None
    multipart: bool = False

    def url(self, ids: dict[str, int]) -> str:
        return "/api/v1/" + self.path.format(**ids)

    def make(self, client: APIClient, ids: dict[str, int]) -> Any:
        send = getattr(client, self.method.lower())
        body = self.body and {key: _filled(value, ids) for key, value in self.body.items()}
        if self.multipart:
            body = {"file": SimpleUploadedFile("new.txt", b"Uploaded words.")}
            return send(self.url(ids), body, format="multipart")
        return send(self.url(ids), body, format="json") if body is not None else send(self.url(ids))


def _filled(value: Any, ids: dict[str, int]) -> Any:
    return ids[value[1:-1]] if isinstance(value, str) and value.startswith("{") else value


QUESTION = {"question": "What does the memo say?"}
CALLS = [
    Call("GET", "me", None),
    Call("GET", "tokens", None),
    Call("POST", "tokens", None, {"name": "new", "scopes": ["read"]}),
    Call("GET", "tokens/{token}", None),
    Call("DELETE", "tokens/{token}", None),
    Call("POST", "ask", "ask", QUESTION),
    Call("POST", "ask/stream", "ask", QUESTION),
    Call("GET", "conversations", "ask"),
    Call("GET", "conversations/{conversation}", "ask"),
    Call("PATCH", "conversations/{conversation}", "ask", {"title": "Renamed"}),
    Call("DELETE", "conversations/{conversation}", "ask"),
    Call("GET", "conversations/{conversation}/messages", "ask"),
    Call("GET", "messages/{message}", "ask"),
    Call("POST", "messages/{message}/feedback", "ask", {"rating": 1}),
    Call("POST", "messages/{message}/stop", "ask", {}),
    Call("GET", "search?q=memo", "read"),
    Call("GET", "documents", "read"),
    Call("GET", "documents/{document}", "read"),
    Call("GET", "documents/{document}/download", "read"),
    Call("GET", "documents/{document}/audience", "admin"),
    Call("GET", "sources", "admin"),
    Call("POST", "sources", "admin", {"name": "New", "kind": "upload", "config": {}}),
    Call("GET", "sources/{source}", "admin"),
    Call("PATCH", "sources/{source}", "admin", {"sync_every_minutes": 60}),
    Call("DELETE", "sources/{source}", "admin"),
    Call("POST", "sources/{source}/sync", "admin", {}),
    Call("POST", "sources/{source}/pause", "admin", {}),
    Call("POST", "sources/{source}/resume", "admin", {}),
    Call("GET", "sources/{source}/status", "admin"),
    Call("POST", "sources/{source}/documents", "admin", multipart=True),
    Call("GET", "grants", "admin"),
    Call("POST", "grants", "admin", {"group": "hr", "document": "{document}"}),
    Call("GET", "grants/{grant}", "admin"),
    Call("DELETE", "grants/{grant}", "admin"),
    Call("GET", "ingestion", "admin"),
]
# Calls that name one of alice's own objects: anyone else gets 404 for them.
OWNED = [call for call in CALLS if call.scope != "admin" and "{" in call.path] + [
    Call("POST", "ask", "ask", {**QUESTION, "conversation": "{conversation}"}),
]


def call_id(call: Call) -> str:
    return f"{call.method} {call.path}"


def test_the_table_covers_every_operation_in_the_schema() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (method.upper(), path.removeprefix("/api/v1/")) for path, item in schema["paths"].items() for method in item
    }
    tabled = {(call.method, re.sub(r"\{\w+\}", "{id}", call.path.split("?")[0])) for call in CALLS}
    assert operations == tabled


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_no_credentials_is_401_in_the_error_format(world: World, call: Call) -> None:
    response = call.make(APIClient(), world.ids)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated" and "Bearer" in response.json()["message"]


@pytest.mark.parametrize("call", CALLS, ids=call_id)
@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_a_revoked_or_expired_token_is_401(world: World, call: Call, state: str) -> None:
    user = world.people.admin if call.scope == "admin" else world.people.alice
    secret = token_for(user)
    token = ApiToken.objects.get(prefix=secret[:12])
    if state == "revoked":
        token.revoked_at = timezone.now()
    else:
        token.expires_at = timezone.now() - timedelta(minutes=1)
    token.save()
    response = call.make(bearer(secret), world.ids)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope], ids=call_id)
def test_a_token_without_the_scope_is_403(world: World, call: Call) -> None:
    user = world.people.admin if call.scope == "admin" else world.people.alice
    other_scopes = [scope for scope in ("ask", "read", "admin") if scope != call.scope]
    if not user.is_knowledge_admin:
        other_scopes.remove("admin")
    response = call.make(bearer(token_for(user, other_scopes)), world.ids)
    assert response.status_code == 403
    assert response.json()["message"].startswith(f"This token does not have the '{call.scope}' scope")


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope == "admin"], ids=call_id)
def test_staff_get_403_from_admin_endpoints_even_signed_in(world: World, call: Call) -> None:
    session = APIClient()
    session.force_login(world.people.alice)  # a session has all of the user's own rights, no more
    response = call.make(session, world.ids)
    assert response.status_code == 403 and response.json()["message"] == "Only knowledge admins may use this endpoint."


@pytest.mark.parametrize("call", OWNED, ids=call_id)
@pytest.mark.parametrize("outsider", ["charlie", "bob"])
def test_someone_elses_objects_are_404_as_if_missing(world: World, call: Call, outsider: str) -> None:
    """charlie sees none of alice's objects; bob (group hr) shares her handbook but not her memo,
    her conversation or her token."""
    user: User = getattr(world.people, outsider)
    response = call.make(bearer(token_for(user)), world.ids)
    assert response.status_code == 404, response.content
    missing = call.make(bearer(token_for(user)), dict.fromkeys(world.ids, 2**31 - 1))
    assert response.json() == missing.json()  # nothing tells a hidden object from a missing one


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_the_owner_or_an_admin_succeeds(world: World, call: Call) -> None:
    user = world.people.admin if call.scope == "admin" else world.people.alice
    response = call.make(bearer(token_for(user)), world.ids)
    assert 200 <= response.status_code < 300, response.content


def test_bob_reads_what_his_group_was_granted_and_nothing_else(world: World) -> None:
    bob = bearer(token_for(world.people.bob))
    salaries, memo = world.corpus.salaries.pk, world.corpus.memo.pk
    assert bob.get(f"/api/v1/documents/{salaries}").json()["title"] == "Salary bands"
    download = bob.get(f"/api/v1/documents/{salaries}/download")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"The original of Salary bands."
    assert "attachment" in download["Content-Disposition"]
    assert bob.get(f"/api/v1/documents/{memo}").status_code == 404
    assert bob.get(f"/api/v1/documents/{memo}/download").status_code == 404
    titles = {d["title"] for d in bob.get("/api/v1/documents").json()["results"]}
    assert titles == {"Salary bands", "Office closed Friday"}
    found = {hit["title"] for hit in bob.get("/api/v1/search?q=chunk&k=50").json()["results"]}
    assert found == {"Salary bands", "Office closed Friday"}


def test_charlie_sees_only_what_all_staff_see(world: World) -> None:
    charlie = bearer(token_for(world.people.charlie))
    titles = [d["title"] for d in charlie.get("/api/v1/documents").json()["results"]]
    assert titles == ["Office closed Friday"]
    found = {hit["title"] for hit in charlie.get("/api/v1/search?q=chunk&k=50").json()["results"]}
    assert found == {"Office closed Friday"}


def test_a_revoked_grant_hides_old_citations_and_their_answer(world: World) -> None:
    alice = bearer(token_for(world.people.alice))
    url = f"/api/v1/messages/{world.ids['message']}"
    before = alice.get(url).json()
    assert before["text"] == "It approves the merger [1]." and before["citations"][0]["title"] == "Board memo"
    with acting_as_system():
        Grant.objects.filter(pk=world.ids["grant"]).delete()
    after = alice.get(url).json()
    assert after["withheld"] is True and "no longer see" in after["text"]
    assert after["citations"][0] == {**after["citations"][0], "available": False, "title": None, "text": None}
    listed = alice.get(f"/api/v1/conversations/{world.ids['conversation']}/messages").json()["results"]
    assert listed[-1]["text"] == after["text"]


def test_documents_created_by_uploads_are_hidden_until_granted(world: World) -> None:
    admin = bearer(token_for(world.people.admin))
    source = admin.post("/api/v1/sources", {"name": "Drop box", "kind": "upload"}, format="json").json()
    upload = SimpleUploadedFile("plan.md", b"# Plan\n\nThe plan.")
    document = admin.post(f"/api/v1/sources/{source['id']}/documents", {"file": upload}, format="multipart").json()
    bob = bearer(token_for(world.people.bob))
    assert bob.get(f"/api/v1/documents/{document['id']}").status_code == 404
    admin.post("/api/v1/grants", {"group": "hr", "document": document["id"]}, format="json")
    assert bob.get(f"/api/v1/documents/{document['id']}").json()["title"] == "plan"
    with acting_as_system():
        assert Document.objects.get(pk=document["id"]).status == Document.Status.PENDING
    assert Path(django_settings.UPLOADS_DIR, str(source["id"]), "plan.md").read_bytes() == b"# Plan\n\nThe plan."
