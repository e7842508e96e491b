"""One error format for every 4xx, with a readable message: {"code", "message", "fields"}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from assistant.models import Conversation, Message
from tests.conftest import People

pytestmark = pytest.mark.django_db

FORMAT = {"code", "message", "fields"}


def test_an_unknown_address_or_a_malformed_id_is_a_404_in_the_format(
    people: People, api: Callable[..., APIClient]
) -> None:
    alice = api(people.alice)
    for url in ("/api/v1/nothing", "/api/v1/documents/abc", "/api/v1/documents/1/", "/api/v1/x%0Ay"):
        response = alice.get(url)
        assert response.status_code == 404 and set(response.json()) == FORMAT, url
        assert "/api/docs/" in response.json()["message"]
    assert alice.delete("/api/v1/nothing").status_code == 404  # not a CSRF page


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(people: People, api: Callable[..., APIClient]) -> None:
    response = api(people.alice).delete("/api/v1/documents")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_bodies_must_be_json(people: People, api: Callable[..., APIClient]) -> None:
    alice = api(people.alice)
    form = alice.post("/api/v1/ask", "question=hi", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    broken = alice.post("/api/v1/ask", "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "parse_error"
    assert "JSON parse error" in broken.json()["message"]


def test_asking_for_html_is_a_406_in_json(people: People, api: Callable[..., APIClient]) -> None:
    response = api(people.alice).get("/api/v1/documents", HTTP_ACCEPT="text/html")
    assert response.status_code == 406 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_acceptable"


def test_a_body_over_the_limit_is_a_413_before_it_is_read(
    people: People, api: Callable[..., APIClient], settings: Any
) -> None:
    settings.ENCLAVE_API_MAX_REQUEST_BYTES = 1024
    response = api(people.alice).post("/api/v1/ask", {"question": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "code": "too_large",
        "message": "The request body is 2,015 bytes; this endpoint takes at most 1,024.",
        "fields": {},
    }


def test_too_many_requests_is_a_429_per_token_with_retry_after(
    people: People, api: Callable[..., APIClient], settings: Any
) -> None:
    settings.ENCLAVE_API_REQUESTS_PER_MINUTE = 2
    first, second = api(people.alice), api(people.alice)
    assert [first.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
    limited = first.get("/api/v1/me")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert limited.json()["code"] == "throttled"
    assert limited.json()["message"].startswith("Too many requests: at most 2 requests a minute for each token.")
    assert second.get("/api/v1/me").status_code == 200  # each token has its own count


def test_questions_have_a_tighter_limit_of_their_own(
    people: People, api: Callable[..., APIClient], settings: Any
) -> None:
    settings.ENCLAVE_API_ASKS_PER_MINUTE = 1
    charlie = api(people.charlie)  # sees nothing: refused at once, without the model
    assert charlie.post("/api/v1/ask", {"question": "Where is the office?"}, format="json").status_code == 200
    limited = charlie.post("/api/v1/ask/stream", {"question": "And now?"}, format="json")
    assert limited.status_code == 429 and "questions a minute" in limited.json()["message"]
    assert charlie.get("/api/v1/conversations").status_code == 200


def test_a_signed_in_session_must_send_the_csrf_token_for_writes(people: People) -> None:
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(people.alice)
    assert session.get("/api/v1/me").status_code == 200
    response = session.post("/api/v1/tokens", {"name": "x", "scopes": ["read"]}, format="json")
    assert response.status_code == 403 and response.json()["message"].startswith("CSRF Failed")


def test_the_page_and_the_api_refuse_in_the_same_words_with_the_same_code(
    people: People, api: Callable[..., APIClient]
) -> None:
    conversation = Conversation.objects.create(owner=people.alice, title="leave")
    question = Message.objects.create(conversation=conversation, role=Message.Role.USER, text="Leave?")
    over_api = api(people.alice).post(f"/api/v1/messages/{question.pk}/feedback", {"rating": 1}, format="json")
    page = Client()
    page.force_login(people.alice)
    on_page = page.post(f"/chat/answers/{question.pk}/feedback", {"rating": "1"})
    assert over_api.status_code == on_page.status_code == 400
    assert over_api.json() == {"code": "invalid", "message": "Feedback is given on answers.", "fields": {}}
    assert on_page.json() == {"error": "Feedback is given on answers.", "code": "invalid"}
