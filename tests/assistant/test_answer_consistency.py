"""The same question gets the same answer (issue 17): asked again, asked after another question, and
asked by people who may see different other documents. Real small model, real database, demo corpus.

People compare notes: a verdict that flips between two askings, or between two colleagues asking
about the same all-staff notice, is an answer nobody can trust. Comparing the verdicts alone would
prove little (the small model's drafts mostly end as the passages, whose text is a fixed sentence),
so the draft itself, the model's yes-probability and the passages are compared too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from assistant.models import Citation
from assistant.services.conversations import answer_events, conversation_create, question_submit
from core.rls import acting_as_system
from knowledge.models import Document, Source
from tests.conftest import People

pytestmark = pytest.mark.django_db

# SmolLM2 answers this with a claim ("... 25 days of paid annual leave ..."), which the rules check
# and the model is then asked to confirm: every step of the answer path has a say in the verdict.
LEAVE_QUESTION = "How many days of paid annual leave does every employee get per year?"
# About the all-staff "Company notices" (deploy/demo/company/office-notices.html).
CLOSURE_QUESTION = "When is the Berlin office closed for the holidays?"


@dataclass(frozen=True)
class Received:
    """Everything of one answer that its asker could notice, or that decided it."""

    verdict: str
    text: str
    cited: tuple[int, ...]
    quote: str
    draft: str
    support: float | None
    chunks: tuple[int, ...]  # the passages, as recorded with the answer
    documents: tuple[int, ...]


def asked(user: User, question: str) -> Received:
    """``question`` in a fresh conversation of ``user``, through the service the page and API share."""
    message = question_submit(conversation=conversation_create(owner=user), asked_by=user, text=question)
    events = list(answer_events(message=message, asked_by=user))
    done = events[-1]
    assert done.kind == "done" and done.answer is not None
    message.refresh_from_db()
    assert (message.status, message.text) == (done.answer.verdict.value, done.answer.text)
    recorded = Citation.objects.filter(message=message).order_by("number").values_list("chunk_id", flat=True)
    return Received(
        verdict=message.status,
        text=message.text,
        cited=tuple(done.answer.cited),
        quote=done.answer.quote,
        draft="".join(e.text for e in events if e.kind == "token"),
        support=done.answer.support,
        chunks=tuple(recorded),
        documents=tuple(dict.fromkeys(p.hit.chunk.document_id for p in done.answer.passages)),
    )


def test_the_same_person_asking_three_times_gets_the_same_answer_every_time(
    people: People, demo: dict[str, Source]
) -> None:
    first, second, third = (asked(people.bob, LEAVE_QUESTION) for _ in range(3))

    assert first.draft.strip() and first.chunks, "the model must have written a draft over passages"
    assert second == first
    assert third == first


def test_what_was_asked_before_does_not_change_the_answer(people: People, demo: dict[str, Source]) -> None:
    """The prompt cache holds whatever the last question left; the answer must not depend on it."""
    before = asked(people.bob, LEAVE_QUESTION)
    between = asked(people.bob, CLOSURE_QUESTION)
    after = asked(people.bob, LEAVE_QUESTION)

    assert between.draft != before.draft and between.chunks != before.chunks  # really another question
    assert after == before


def test_an_all_staff_notice_gets_the_same_answer_whatever_else_the_asker_may_see(
    people: People, demo: dict[str, Source]
) -> None:
    """charlie sees only the company notices, alice also HR and finance, the admin everything."""
    charlie, alice, admin = (asked(user, CLOSURE_QUESTION) for user in (people.charlie, people.alice, people.admin))

    with acting_as_system():
        notices = set(Document.objects.filter(source=demo["company"]).values_list("id", flat=True))
    assert charlie.documents and set(charlie.documents) <= notices
    assert charlie.draft.strip()
    assert alice == charlie
    assert admin == charlie
