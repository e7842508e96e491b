"""Reads of conversations, answers and the question log. Each takes the requesting user.

Conversations belong to one person: anyone else gets the same 404 as for a conversation that does
not exist. Citations are resolved through the visibility rule every time they are read; when a
passage an answer relied on is no longer visible to its reader, the answer's text is withheld too,
since it was written from that passage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Func, Prefetch, QuerySet
from django.utils.translation import gettext_noop

from accounts.models import User
from assistant.languages import in_language
from assistant.models import SETTLED_STATUSES, Conversation, Feedback, Message, QuestionLog
from core.errors import NotFound
from core.shortcuts import get_visible_or_404
from knowledge.models import Chunk
from knowledge.permissions import AnyUser, visibility
from knowledge.selectors import chunks_by_id

# Rendered in the answer's language with in_language (translations in locale/).
WITHHELD = gettext_noop("This answer relied on documents you can no longer see.")


def conversation_list(*, fetched_by: AnyUser) -> QuerySet[Conversation]:
    if not fetched_by.is_authenticated:
        return Conversation.objects.none()
    return Conversation.objects.filter(owner_id=fetched_by.pk)


def access_conversation_by_id(*, fetched_by: AnyUser, conversation_id: int | str) -> Conversation:
    return get_visible_or_404(conversation_list(fetched_by=fetched_by), "No such conversation.", pk=conversation_id)


def access_message_by_id(*, fetched_by: AnyUser, message_id: int) -> Message:
    owner_id = fetched_by.pk if fetched_by.is_authenticated else None
    messages = Message.objects.select_related("conversation").filter(conversation__owner_id=owner_id)
    return get_visible_or_404(messages, "No such message.", pk=message_id)


@dataclass(frozen=True)
class ShownCitation:
    number: int
    cited: bool
    chunk: Chunk | None  # None: deleted, or no longer visible to the reader (the two look alike)


@dataclass(frozen=True)
class ShownMessage:
    message: Message
    text: str
    citations: list[ShownCitation]
    withheld: bool  # a passage the answer cites is no longer visible, so its text is not shown
    rating: int | None  # the reader's own feedback

    @property
    def cited(self) -> list[ShownCitation]:
        return [c for c in self.citations if c.cited]

    @property
    def finished(self) -> bool:
        """An answer with nothing more to come, which its reader can rate and copy."""
        return self.message.status in SETTLED_STATUSES


def message_list(*, fetched_by: User, conversation: Conversation) -> list[ShownMessage]:
    """The conversation's messages as its owner may see them today (one query for citations and
    one for the visible chunks, however long the conversation)."""
    if conversation.owner_id != fetched_by.pk:
        raise NotFound("No such conversation.")
    return _shown_messages(fetched_by, conversation.messages.all())


def _shown_messages(fetched_by: User, messages_of: QuerySet[Message]) -> list[ShownMessage]:
    messages = list(
        messages_of.prefetch_related(
            "citations", Prefetch("feedback", queryset=Feedback.objects.filter(given_by=fetched_by))
        )
    )
    chunk_ids = [c.chunk_id for m in messages for c in m.citations.all() if c.chunk_id]
    visible = chunks_by_id(fetched_by=fetched_by, chunk_ids=chunk_ids) if chunk_ids else {}
    return [_shown(message, visible) for message in messages]


def answer_shown(*, fetched_by: User, message: Message) -> ShownMessage:
    """One message as its owner may see it today (the page re-renders an answer when it finishes)."""
    shown = _shown_messages(fetched_by, Message.objects.filter(pk=message.pk, conversation__owner_id=fetched_by.pk))
    if not shown:
        raise NotFound("No such message.")
    return shown[0]


def citation_shown(*, fetched_by: User, message: Message, number: int) -> ShownCitation:
    """Passage ``number`` of an answer; its chunk is None when the reader may no longer see it."""
    citations = answer_shown(fetched_by=fetched_by, message=message).citations
    citation = next((c for c in citations if c.number == number), None)
    if citation is None:
        raise NotFound("No such citation.")
    return citation


def _shown(message: Message, visible: dict[int, Chunk]) -> ShownMessage:
    citations = [
        ShownCitation(c.number, c.cited, visible.get(c.chunk_id) if c.chunk_id else None)
        for c in message.citations.all()
    ]
    withheld = any(c.cited and c.chunk is None for c in citations)
    feedback = next(iter(message.feedback.all()), None)
    return ShownMessage(
        message=message,
        text=in_language(message.language, WITHHELD) if withheld else message.text,
        citations=citations,
        withheld=withheld,
        rating=feedback.rating if feedback else None,
    )


def question_log_list(*, fetched_by: AnyUser) -> QuerySet[QuestionLog]:
    """The audit trail, for knowledge admins only (everyone else gets an empty list)."""
    return visibility.admin_only(QuestionLog.objects.all(), fetched_by)


def retrieved_document_ids(*, fetched_by: AnyUser) -> QuerySet[Any]:
    """The ids of the documents retrieved for any logged question, as a subquery (admins only)."""
    logged = visibility.admin_only(QuestionLog.objects.all(), fetched_by)
    return logged.annotate(document=Func("retrieved_document_ids", function="unnest")).values("document")


def question_count_since(*, fetched_by: AnyUser, since: datetime) -> int:
    """How many questions were asked from ``since`` on (admins only; others count none)."""
    return visibility.admin_only(QuestionLog.objects.filter(asked_at__gte=since), fetched_by).count()
