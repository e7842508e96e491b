"""Honest streaming on the chat page's endpoints (issue 17): the draft streams as tokens, then the
page is told it is being checked, then the verdict. A draft that fails its check is kept nowhere:
not in the recorded answer, not in the fragment the page swaps in over the streamed text.
Real small model, real database, demo corpus."""

from __future__ import annotations

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from assistant.models import Citation, Message
from assistant.services.answering import PASSAGES_INSTEAD
from core.rls import acting_as_system
from knowledge.models import Chunk, Source
from tests.assistant.streams import (
    Events,
    assert_checked_before_done,
    assert_no_trace_of_the_draft,
    draft_of,
    sse_events,
    text_of,
)
from tests.conftest import People

pytestmark = pytest.mark.django_db

# SmolLM2 answers this with a claim of its own ("The passage states that every employee gets ..."),
# so there is a draft to hide when it is not confirmed.
LEAVE_QUESTION = "How many days of paid annual leave does every employee get per year?"


def asked_and_streamed(client: Client, question: str) -> tuple[int, Events]:
    started = client.post("/chat/ask", {"question": question}).json()
    response = client.get(started["stream"])
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    return started["message"], sse_events(response.streaming_content)  # type: ignore[arg-type]


def passage_texts(message_id: int) -> list[str]:
    with acting_as_system():
        chunks = Citation.objects.filter(message_id=message_id).values_list("chunk_id", flat=True)
        return list(Chunk.objects.filter(pk__in=list(chunks)).values_list("text", flat=True))


def test_a_draft_the_model_does_not_confirm_streams_as_a_draft_and_is_replaced_by_the_passages(
    people: People, demo: dict[str, Source], settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_ANSWER_MIN_SUPPORT = 1.0  # no yes-probability reaches it: every claim ends as the passages
    bob = Client()
    bob.force_login(people.bob)
    message_id, events = asked_and_streamed(bob, LEAVE_QUESTION)

    assert_checked_before_done(events)
    draft, done = draft_of(events), events[-1][1]
    assert (done["verdict"], done["text"], done["quote"]) == ("passages", PASSAGES_INSTEAD, "")
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.text) == (Message.Status.PASSAGES, PASSAGES_INSTEAD)

    fragment = bob.get(f"/chat/answers/{message_id}").content.decode()
    assert PASSAGES_INSTEAD in text_of(fragment)
    assert "provisional" not in fragment and "streaming-text" not in fragment
    excerpts = fragment.split('<ol class="passage-excerpts">')[1].split("</ol>")[0]
    assert excerpts.count("<li>") == len(events[0][1]["passages"])  # the passages shown instead
    assert_no_trace_of_the_draft(draft, passage_texts(message_id), message.text, done["text"], text_of(fragment))


def test_a_confirmed_answer_comes_with_the_quote_it_rests_on(people: People, demo: dict[str, Source], settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_ANSWER_MIN_SUPPORT = 0.0  # whatever the small model says of its quote, the rules decide
    bob = Client()
    bob.force_login(people.bob)
    message_id, events = asked_and_streamed(bob, LEAVE_QUESTION)

    assert_checked_before_done(events)
    done = events[-1][1]
    assert done["verdict"] == "answered", f"the rules refused the draft {draft_of(events)!r}"
    (cited,) = done["cited"]
    with acting_as_system():
        chunk_id = Citation.objects.get(message_id=message_id, number=cited).chunk_id
        assert chunk_id is not None
        passage = Chunk.objects.get(pk=chunk_id).text
    assert done["quote"] and " ".join(done["quote"].split()) in " ".join(passage.split())
    assert Message.objects.get(pk=message_id).text == done["text"]
    assert f"[{cited}]" in done["text"]
