"""Writes for conversations: ask, answer (streamed and recorded), stop, feedback, the question log.

The page and the REST API both go through ``question_submit`` then ``answer_events``, so the same
user gets the same answer, the same citations and the same log entry from either.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import User
from assistant.languages import in_language
from assistant.models import FINISHED_STATUSES, Citation, Conversation, Feedback, Message, QuestionLog
from assistant.services.answering import Answer, Event, Turn, Verdict, answer_stream, question_language
from assistant.services.generation import GenerationError
from core.errors import EnclaveError
from core.metrics import ANSWER_SECONDS, ANSWERS, FIRST_TOKEN_SECONDS

MAX_QUESTION_CHARS = 4000
TITLE_CHARS = 80
# How often a running answer looks for a stop request made from another request or process.
STOP_CHECK_SECONDS = 0.5
# Rendered in the answer's language with in_language (translations in locale/).
STOPPED_EARLY = gettext_noop("Stopped before the answer was finished.")
ABANDONED = gettext_noop("This answer was interrupted (Enclave restarted while writing it). Please ask again.")
STATUS_OF_VERDICT = {
    Verdict.ANSWERED: Message.Status.ANSWERED,
    Verdict.PASSAGES: Message.Status.PASSAGES,
    Verdict.REFUSED: Message.Status.REFUSED,
}


class QuestionError(EnclaveError, ValueError):
    """A question that cannot be asked (or rated); the message is for the asker."""


class AnswerNotWaiting(QuestionError):
    """The answer is already being generated, or finished: it can be streamed only once."""

    code = "conflict"
    http_status = 409


def conversation_create(*, owner: User, title: str = "") -> Conversation:
    return Conversation.objects.create(owner=owner, title=title.strip()[:200])


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    conversation.title = title.strip()[:200]
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    # The question log is kept apart: deleting a chat does not erase the audit trail.
    conversation.delete()


def question_submit(*, conversation: Conversation, asked_by: User, text: str) -> Message:
    """Record the question and an answer waiting to be generated; returns the answer's message."""
    text = text.strip()
    if not text:
        raise QuestionError("The question is empty.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"The question is too long ({len(text)} characters; at most {MAX_QUESTION_CHARS}).")
    if conversation.owner_id != asked_by.pk:
        raise QuestionError("This conversation belongs to someone else.")
    with transaction.atomic():
        Message.objects.create(conversation=conversation, role=Message.Role.USER, text=text)
        answer = Message.objects.create(
            conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.PENDING
        )
        if not conversation.title:
            conversation.title = text[:TITLE_CHARS]
        conversation.save(update_fields=["title", "updated_at"])
    return answer


def answer_events(*, message: Message, asked_by: User, channel: str = "page") -> Iterator[Event]:
    """Generate the pending answer ``message``: returns its events, and records the result.

    The answer is claimed here, before any event (a second stream of the same answer gets a
    QuestionError rather than a second generation). If the caller stops listening (the page
    closed), the generator is closed: generation stops at the next token and the answer is
    recorded as stopped.
    """
    question, history = _question_and_history(message)
    claimed = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(
        status=Message.Status.GENERATING
    )
    if not claimed:
        raise AnswerNotWaiting("This answer is already being generated.")
    message.status = Message.Status.GENERATING
    return _answer_events(message, asked_by, channel, question, history)


def _answer_events(
    message: Message, asked_by: User, channel: str, question: str, history: list[Turn]
) -> Iterator[Event]:
    started, first_token = time.monotonic(), None
    final: Answer | None = None
    try:
        for event in answer_stream(
            asked_by=asked_by, question=question, history=history, should_stop=_stop_checker(message)
        ):
            if event.kind == "token" and first_token is None:
                first_token = time.monotonic() - started
            if event.kind == "done":
                final = event.answer
            yield event
    except GenerationError as exc:
        _answer_failed(message, str(exc))
        raise
    finally:
        if final is not None:
            _answer_record(message, final)
            _question_log_write(message, final, asked_by, channel, first_token, time.monotonic() - started)
        elif message.status == Message.Status.GENERATING:
            _answer_interrupted(message, question_language(question))


def _question_and_history(message: Message) -> tuple[str, list[Turn]]:
    """The question this answer replies to, and the finished exchanges before it."""
    earlier = list(message.conversation.messages.filter(id__lt=message.id).order_by("id"))
    if not earlier or earlier[-1].role != Message.Role.USER or message.status != Message.Status.PENDING:
        raise AnswerNotWaiting("This answer is not waiting to be generated.")
    turns = [
        # An answer that was replaced by passages is not the model's to build on; its question
        # still says what the conversation is about.
        Turn(question.text, answer.text if answer.status == Message.Status.ANSWERED else "")
        for question, answer in itertools.pairwise(earlier[:-1])
        if question.role == Message.Role.USER and answer.status in FINISHED_STATUSES
    ]
    return earlier[-1].text, turns


def _stop_checker(message: Message) -> Callable[[], bool]:
    last_check = 0.0
    stopped = False

    def should_stop() -> bool:
        nonlocal last_check, stopped
        if not stopped and time.monotonic() - last_check >= STOP_CHECK_SECONDS:
            last_check = time.monotonic()
            stopped = Message.objects.filter(pk=message.pk, stop_requested=True).exists()
        return stopped

    return should_stop


def answer_stop(*, message: Message) -> None:
    """Ask a running answer to stop (it may be generating in another process)."""
    Message.objects.filter(pk=message.pk, status__in=[Message.Status.PENDING, Message.Status.GENERATING]).update(
        stop_requested=True
    )


def _answer_record(message: Message, answer: Answer) -> None:
    message.text = answer.text
    message.status = Message.Status.STOPPED if answer.stopped else STATUS_OF_VERDICT[answer.verdict]
    message.standalone_question = answer.standalone_question
    message.language = answer.language
    message.finished_at = timezone.now()
    cited = set(answer.cited)
    with transaction.atomic():
        message.save(update_fields=["text", "status", "standalone_question", "language", "finished_at"])
        Citation.objects.bulk_create(
            Citation(
                message=message,
                chunk_id=p.hit.chunk.pk,
                number=p.number,
                cited=p.number in cited,
                distance=p.hit.distance,
            )
            for p in answer.passages
        )


def _answer_interrupted(message: Message, language: str) -> None:
    # The asker went away mid-answer; the unfinished text was never checked, so none is kept.
    message.text, message.language = in_language(language, STOPPED_EARLY), language
    message.status, message.finished_at = Message.Status.STOPPED, timezone.now()
    message.save(update_fields=["text", "status", "language", "finished_at"])


def _answer_failed(message: Message, reason: str) -> None:
    message.text, message.status, message.finished_at = reason, Message.Status.FAILED, timezone.now()
    message.save(update_fields=["text", "status", "finished_at"])


def _question_log_write(
    message: Message, answer: Answer, asked_by: User, channel: str, first_token: float | None, total: float
) -> None:
    cited = [p for p in answer.passages if p.number in set(answer.cited)]
    ANSWERS.labels(message.status, channel).inc()
    ANSWER_SECONDS.observe(total)
    if first_token is not None:
        FIRST_TOKEN_SECONDS.observe(first_token)
    QuestionLog.objects.create(
        asked_by=asked_by,
        username=asked_by.get_username(),
        question=answer.question,
        standalone_question=answer.standalone_question,
        channel=channel,
        status=message.status,
        retrieved_chunk_ids=[p.hit.chunk.pk for p in answer.passages],
        cited_chunk_ids=[p.hit.chunk.pk for p in cited],
        retrieved_document_ids=list(dict.fromkeys(p.hit.chunk.document_id for p in answer.passages)),
        cited_document_ids=list(dict.fromkeys(p.hit.chunk.document_id for p in cited)),
        model=settings.ENCLAVE_LLM_REMOTE_MODEL if settings.ENCLAVE_LLM_URL else str(settings.ENCLAVE_LLM_MODEL),
        seconds_to_first_token=first_token,
        seconds_total=total,
    )


def feedback_give(*, message: Message, given_by: User, rating: int, comment: str = "") -> Feedback:
    if rating not in Feedback.Rating.values:
        raise QuestionError("Feedback is 1 (helpful) or -1 (not helpful).")
    if message.role != Message.Role.ASSISTANT:
        raise QuestionError("Feedback is given on answers.")
    feedback, _ = Feedback.objects.update_or_create(
        message=message, given_by=given_by, defaults={"rating": rating, "comment": comment.strip()[:2000]}
    )
    return feedback


def question_log_prune(*, now: datetime | None = None) -> int:
    """Delete log entries older than the retention period; returns how many went."""
    days = settings.ENCLAVE_AUDIT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = QuestionLog.objects.filter(asked_at__lt=cutoff).delete()
    return deleted


def answers_abandoned_close(*, now: datetime | None = None) -> int:
    """Close answers left "generating" by a process that is gone (restarted, killed) so their page
    stops waiting for them; returns how many. Nothing alive takes this long: an answer is a minute
    at most, and a long wait in line is minutes."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.ENCLAVE_ANSWER_ABANDONED_MINUTES)
    closed = 0
    for message in Message.objects.filter(status=Message.Status.GENERATING, created_at__lt=cutoff):
        question = message.conversation.messages.filter(id__lt=message.pk, role=Message.Role.USER).last()
        language = question_language(question.text if question else "")
        message.text, message.language = in_language(language, ABANDONED), language
        message.status, message.finished_at = Message.Status.FAILED, timezone.now()
        message.save(update_fields=["text", "language", "status", "finished_at"])
        closed += 1
    return closed
