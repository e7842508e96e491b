"""Conversations over HTTP: ask, stream the answer as server-sent events, stop, feedback, and what
is recorded (citations, the question log). The answers come from the real small model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from assistant.models import Citation, Conversation, Message, QuestionLog
from assistant.selectors import WITHHELD, message_list
from assistant.services import conversations
from assistant.services.answering import REFUSAL
from assistant.services.conversations import question_log_prune
from core.rls import acting_as_system
from knowledge.models import Grant, Source
from knowledge.services.grants import grant_revoke
from tests.conftest import Corpus, People

pytestmark = pytest.mark.django_db

LEAVE_QUESTION = "How many days of annual leave do I get?"


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def ask(client: Client, question: str, conversation: int | None = None) -> dict:
    data = {"question": question} | ({"conversation": str(conversation)} if conversation else {})
    response = client.post("/chat/ask", data)
    assert response.status_code == 200, response.content
    return response.json()


def events_of(chunks) -> Iterator[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    """Parsed as they arrive, so a test can act in the middle of an answer."""
    for chunk in chunks:
        kind, data = chunk.decode().strip().split("\n")
        yield kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def open_stream(client: Client, started: dict) -> StreamingHttpResponse:
    response = client.get(started["stream"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert isinstance(response, StreamingHttpResponse)
    return response


def streamed(client: Client, started: dict) -> list[tuple[str, dict]]:
    return list(events_of(open_stream(client, started).streaming_content))


def test_an_answer_streams_as_events_and_is_recorded_with_its_citations_and_log_entry(
    people: People, demo: dict[str, Source]
) -> None:
    bob = signed_in(people.bob)
    started = ask(bob, LEAVE_QUESTION)
    events = streamed(bob, started)

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "passages" and kinds[-1] == "done"
    assert "token" in kinds  # the model's words arrived one by one, before the verdict
    passages = events[0][1]["passages"]
    assert passages[0]["title"] and passages[0]["source"] == "hr"
    done = events[-1][1]

    message = Message.objects.get(pk=started["message"])
    assert message.status == done["verdict"] and message.text == done["text"]
    citations = list(Citation.objects.filter(message=message).order_by("number"))
    assert [c.number for c in citations] == [p["number"] for p in passages]
    assert [c.number for c in citations if c.cited] == done["cited"]

    log = QuestionLog.objects.get()
    assert (log.username, log.question, log.status, log.channel) == ("bob", LEAVE_QUESTION, message.status, "page")
    assert log.retrieved_chunk_ids == [c.chunk_id for c in citations]
    assert set(log.cited_chunk_ids) == {c.chunk_id for c in citations if c.cited}
    assert log.seconds_total is not None and log.seconds_to_first_token is not None


def test_a_follow_up_is_searched_as_a_question_that_stands_alone(people: People, demo: dict[str, Source]) -> None:
    bob = signed_in(people.bob)
    first = ask(bob, LEAVE_QUESTION)
    streamed(bob, first)
    follow_up = ask(bob, "How far in advance must I request it?", conversation=first["conversation"])
    events = streamed(bob, follow_up)
    done = events[-1][1]
    assert done["standalone_question"] != "How far in advance must I request it?"
    assert "Leave policy" in [passage["title"] for passage in events[0][1]["passages"]]
    log = QuestionLog.objects.latest("id")
    assert log.standalone_question == done["standalone_question"]


def test_an_outsider_is_refused_and_the_log_shows_nothing_was_retrieved(
    people: People, demo: dict[str, Source]
) -> None:
    charlie = signed_in(people.charlie)
    events = streamed(charlie, ask(charlie, "What are the salary bands for engineers?"))
    assert [kind for kind, _ in events] == ["passages", "done"]
    assert events[0][1]["passages"] == []
    assert events[-1][1]["text"] == REFUSAL
    log = QuestionLog.objects.get()
    assert (log.status, log.retrieved_chunk_ids, log.cited_document_ids) == ("refused", [], [])


def test_a_stop_request_ends_the_generation_and_keeps_it_as_stopped(
    people: People, demo: dict[str, Source], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "STOP_CHECK_SECONDS", 0.0)  # look for the request at every token
    bob = signed_in(people.bob)
    started = ask(bob, LEAVE_QUESTION)
    response = open_stream(bob, started)
    tokens = 0
    events = []
    for kind, data in events_of(response.streaming_content):
        events.append((kind, data))
        if kind == "token":
            tokens += 1
            if tokens == 1:
                assert bob.post(f"/chat/answers/{started['message']}/stop").status_code == 200
    assert tokens == 1  # the token after the request was never generated
    assert events[-1][0] == "done" and events[-1][1]["stopped"] is True
    assert Message.objects.get(pk=started["message"]).status == Message.Status.STOPPED


# Outside a test transaction, as in a server: closing a response also closes the request's
# database connection when it sits in an open transaction.
@pytest.mark.django_db(transaction=True, databases=["default", "owner"])  # owner: see test_worker.py
def test_closing_the_stream_mid_answer_stops_it_and_keeps_no_unchecked_text(
    people: People, demo: dict[str, Source]
) -> None:
    bob = signed_in(people.bob)
    started = ask(bob, LEAVE_QUESTION)
    response = open_stream(bob, started)
    for kind, _ in events_of(response.streaming_content):
        if kind == "token":
            break
    response.close()  # what the server does when the page goes away
    message = Message.objects.get(pk=started["message"])
    assert (message.status, message.text) == (Message.Status.STOPPED, conversations.STOPPED_EARLY)


def test_an_answer_streams_only_once(people: People, demo: dict[str, Source]) -> None:
    charlie = signed_in(people.charlie)
    started = ask(charlie, "Where is the office?")
    streamed(charlie, started)
    again = charlie.get(started["stream"])
    assert again.status_code == 409
    assert "not waiting" in again.json()["error"]


def test_outsiders_get_404_for_someone_elses_conversation_and_answers(people: People, demo: dict[str, Source]) -> None:
    started = ask(signed_in(people.charlie), "Where is the office?")
    alice = signed_in(people.alice)
    message = started["message"]
    assert alice.get(f"/chat/answers/{message}/stream").status_code == 404
    assert alice.post(f"/chat/answers/{message}/stop").status_code == 404
    assert alice.post(f"/chat/answers/{message}/feedback", {"rating": "1"}).status_code == 404
    assert alice.post("/chat/ask", {"question": "hi", "conversation": started["conversation"]}).status_code == 404
    assert alice.post("/chat/ask", {"question": "hi", "conversation": "not-a-number"}).status_code == 404
    assert Client().post("/chat/ask", {"question": "hi"}).status_code == 302  # to the sign-in page


def test_a_bad_question_gets_a_clear_400(people: People) -> None:
    bob = signed_in(people.bob)
    assert bob.post("/chat/ask", {"question": "   "}).json() == {"error": "The question is empty.", "code": "invalid"}
    too_long = bob.post("/chat/ask", {"question": "x" * 5000})
    assert too_long.status_code == 400 and "too long" in too_long.json()["error"]


def test_feedback_is_one_per_user_and_answer_and_can_be_changed(people: People, demo: dict[str, Source]) -> None:
    charlie = signed_in(people.charlie)
    started = ask(charlie, "Where is the office?")
    streamed(charlie, started)
    url = f"/chat/answers/{started['message']}/feedback"
    assert charlie.post(url, {"rating": "1"}).status_code == 200
    assert charlie.post(url, {"rating": "-1", "comment": "wrong office"}).status_code == 200
    assert charlie.post(url, {"rating": "5"}).status_code == 400
    conversation = Conversation.objects.get(pk=started["conversation"])
    answer = message_list(fetched_by=people.charlie, conversation=conversation)[-1]
    assert answer.rating == -1
    assert answer.message.feedback.get().comment == "wrong office"


def test_a_revoked_document_disappears_from_old_answers(people: People, corpus: Corpus) -> None:
    conversation = Conversation.objects.create(owner=people.alice, title="memo")
    Message.objects.create(conversation=conversation, role=Message.Role.USER, text="What does the memo say?")
    answer = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, text="The board approved the merger [1]."
    )
    with acting_as_system():  # the test's own reads, past row-level security
        memo_chunk = corpus.memo.chunks.get()
        notice_chunk = corpus.notice.chunks.get()
    Citation.objects.create(message=answer, chunk=memo_chunk, number=1, cited=True)
    Citation.objects.create(message=answer, chunk=notice_chunk, number=2, cited=False)

    shown = message_list(fetched_by=people.alice, conversation=conversation)[-1]
    assert shown.text == "The board approved the merger [1]."
    assert [c.chunk for c in shown.citations] == [memo_chunk, notice_chunk]

    with acting_as_system():
        grant_revoke(grant=Grant.objects.get(user=people.alice, document=corpus.memo))
    shown = message_list(fetched_by=people.alice, conversation=conversation)[-1]
    assert (shown.text, shown.withheld) == (WITHHELD, True)
    assert [c.chunk for c in shown.citations] == [None, notice_chunk]


def test_the_question_log_is_pruned_after_the_retention_period(people: People, settings) -> None:  # type: ignore[no-untyped-def]
    old = QuestionLog.objects.create(username="bob", question="old", status="answered")
    QuestionLog.objects.filter(pk=old.pk).update(asked_at=timezone.now() - timedelta(days=31))
    QuestionLog.objects.create(username="bob", question="recent", status="answered")
    settings.ENCLAVE_AUDIT_RETENTION_DAYS = 0
    assert question_log_prune() == 0
    settings.ENCLAVE_AUDIT_RETENTION_DAYS = 30
    assert question_log_prune() == 1
    assert list(QuestionLog.objects.values_list("question", flat=True)) == ["recent"]


def test_the_question_log_is_readable_by_knowledge_admins_only(people: People, demo: dict[str, Source]) -> None:
    bob = signed_in(people.bob)
    streamed(bob, ask(bob, "What are the salary bands for engineers?"))
    log = QuestionLog.objects.get()
    admin = signed_in(people.admin)
    page = admin.get("/admin/assistant/questionlog/").content.decode()
    assert "What are the salary bands for engineers?" in page and "bob" in page
    assert admin.get(f"/admin/assistant/questionlog/{log.pk}/delete/").status_code == 403
    for staff in (bob, signed_in(people.charlie)):
        response = staff.get("/admin/assistant/questionlog/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_answer_abandoned_by_a_restarted_process_is_closed_and_a_live_one_is_not(people: People) -> None:
    conversation = conversations.conversation_create(owner=people.bob)
    abandoned = conversations.question_submit(conversation=conversation, asked_by=people.bob, text="年假有多少天？")
    live = conversations.question_submit(conversation=conversation, asked_by=people.bob, text="How many days?")
    Message.objects.filter(pk__in=[abandoned.pk, live.pk]).update(status=Message.Status.GENERATING)
    Message.objects.filter(pk=abandoned.pk).update(created_at=timezone.now() - timedelta(minutes=31))

    assert conversations.answers_abandoned_close() == 1

    abandoned.refresh_from_db()
    live.refresh_from_db()
    assert abandoned.status == Message.Status.FAILED
    assert abandoned.text == "此回答被中断（Enclave 在生成时重新启动）。请重新提问。"
    assert live.status == Message.Status.GENERATING  # still being written by someone's stream
    page = signed_in(people.bob).get(f"/chat/answers/{abandoned.pk}").content.decode()
    assert "此回答被中断" in page and "hx-trigger" not in page  # the page stops polling it
