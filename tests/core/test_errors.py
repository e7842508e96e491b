"""The one error vocabulary: every domain error is an EnclaveError, answered once for the API and once
for the pages, with the same code, words and status."""

from __future__ import annotations

import json

import pytest
from django.http import Http404, HttpRequest, HttpResponse
from django.test import RequestFactory

from accounts.tokens import TokenError, access_token_by_id
from assistant.selectors import access_conversation_by_id, access_message_by_id
from assistant.services.conversations import AnswerNotWaiting, QuestionError
from assistant.services.generation import GenerationError
from core.api.errors import api_exception_handler
from core.errors import EnclaveError, NotFound, about_field
from core.pages import json_errors
from knowledge.parsing import BadDocument
from knowledge.selectors import access_document_by_id
from knowledge.selectors.manage import access_grant_by_id, access_source_by_id
from knowledge.services.reading import SourceUnavailable
from tests.conftest import People

DOMAIN_ERRORS = [
    (BadDocument, "invalid", 400),
    (QuestionError, "invalid", 400),
    (AnswerNotWaiting, "conflict", 409),
    (TokenError, "invalid", 400),
    (SourceUnavailable, "source_unavailable", 409),
    (GenerationError, "generation_failed", 503),
    (NotFound, "not_found", 404),
]


@pytest.mark.parametrize(("error", "code", "status"), DOMAIN_ERRORS)
def test_each_domain_error_has_a_code_and_a_status(error: type[EnclaveError], code: str, status: int) -> None:
    raised = error("What went wrong, in words.")
    assert isinstance(raised, EnclaveError)
    assert (raised.code, raised.http_status, raised.message, str(raised)) == (
        code,
        status,
        "What went wrong, in words.",
        "What went wrong, in words.",
    )


def test_the_old_bases_still_catch_them() -> None:
    """Callers that catch ValueError or Http404 (Django's 404 page) keep working."""
    assert issubclass(TokenError, ValueError) and issubclass(QuestionError, ValueError)
    assert issubclass(NotFound, Http404)


@pytest.mark.parametrize(("error", "code", "status"), DOMAIN_ERRORS)
def test_the_api_answers_any_of_them_in_the_one_format(error: type[EnclaveError], code: str, status: int) -> None:
    response = api_exception_handler(error("Not like this."), {})
    assert response is not None and response.status_code == status
    assert response.data == {"code": code, "message": "Not like this.", "fields": {}}


def page(raised: Exception):  # type: ignore[no-untyped-def]
    @json_errors
    def view(request: HttpRequest) -> HttpResponse:
        raise raised

    return view(RequestFactory().get("/"))


@pytest.mark.parametrize(("error", "code", "status"), [e for e in DOMAIN_ERRORS if e[0] is not NotFound])
def test_a_page_answers_them_with_the_same_code_words_and_status(
    error: type[EnclaveError], code: str, status: int
) -> None:
    response = page(error("Not like this."))
    assert response.status_code == status
    assert json.loads(response.content) == {"error": "Not like this.", "code": code}


def test_a_page_leaves_not_found_to_the_sites_404_page() -> None:
    with pytest.raises(NotFound):
        page(NotFound("No such message."))
    with pytest.raises(RuntimeError):  # not an EnclaveError: a server error, as before
        page(RuntimeError("a bug"))


def test_errors_about_a_field_name_it_for_the_api_and_the_page() -> None:
    with pytest.raises(BadDocument) as caught, about_field("file"):
        raise BadDocument("The file is empty (0 bytes).")
    response = api_exception_handler(caught.value, {})
    assert response is not None and response.data["fields"] == {"file": ["The file is empty (0 bytes)."]}
    assert json.loads(page(caught.value).content)["fields"] == {"file": ["The file is empty (0 bytes)."]}


@pytest.mark.django_db
def test_every_access_by_id_gives_the_same_not_found_for_a_missing_or_malformed_id(
    people: People,
) -> None:
    for access, keyword, words in (
        (access_document_by_id, "document_id", "No such document."),
        (access_source_by_id, "source_id", "No such source."),
        (access_grant_by_id, "grant_id", "No such grant."),
        (access_conversation_by_id, "conversation_id", "No such conversation."),
        (access_message_by_id, "message_id", "No such message."),
        (access_token_by_id, "token_id", "No such token."),
    ):
        for key in (987654, "abc", None):
            with pytest.raises(NotFound) as caught:
                access(fetched_by=people.alice, **{keyword: key})  # type: ignore[operator,arg-type]
            assert caught.value.message == words, (access.__name__, key)
