"""Conversations, their messages, the passages each answer was given and cited, feedback, and the
question log that knowledge admins audit.

Citations point at chunks and never copy their text: the text is read again through the
visibility rule whenever an answer is shown, so a revoked or deleted document disappears from old
answers too (assistant/selectors.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Conversation(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="conversation_owner_recent")]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Question"
        ASSISTANT = "assistant", "Answer"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be answered"
        GENERATING = "generating", "Being answered"
        ANSWERED = "answered", "Answered with citations"
        PASSAGES = "passages", "Unsupported answer replaced by the best passages"
        REFUSED = "refused", "Nothing relevant in the documents the user may see"
        STOPPED = "stopped", "Stopped by the user"
        FAILED = "failed", "The model could not answer"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ANSWERED)
    # The question as it was searched: a follow-up ("and in Shanghai?") rewritten to stand alone.
    standalone_question = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    stop_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"


# Answers the model finished: what a follow-up question can build on.
FINISHED_STATUSES = (Message.Status.ANSWERED, Message.Status.PASSAGES, Message.Status.REFUSED)
# Answers with nothing more to come, which their reader can rate and copy.
SETTLED_STATUSES = (*FINISHED_STATUSES, Message.Status.STOPPED)


class Citation(models.Model):
    """A passage an answer was given (``number`` as in "[2]"); ``cited`` when the answer relies on it.

    The chunk reference is cleared when the chunk goes (its document re-ingested or deleted); the
    row stays so the answer's numbering still makes sense, and shows as no longer available.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="citations")
    chunk = models.ForeignKey("knowledge.Chunk", null=True, on_delete=models.SET_NULL, related_name="+")
    number = models.PositiveSmallIntegerField()
    cited = models.BooleanField(default=False)
    distance = models.FloatField(null=True)

    class Meta:
        ordering = ["message", "number"]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="citation_number_once")]

    def __str__(self) -> str:
        return f"[{self.number}] of message {self.message_id}" + (" (cited)" if self.cited else "")


class Feedback(models.Model):
    class Rating(models.IntegerChoices):
        UP = 1, "Helpful"
        DOWN = -1, "Not helpful"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.SmallIntegerField(choices=Rating.choices)
    comment = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "given_by"], name="feedback_once_per_user")]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on message {self.message_id}"


class QuestionLog(models.Model):
    """Who asked what and which chunks were retrieved and cited: the audit trail.

    Kept apart from conversations, which users may delete, and pruned after
    ENCLAVE_AUDIT_RETENTION_DAYS. The asker's name is copied so the record outlives the account.
    Chunk and document ids are plain ids for the same reason: a log must not lose entries when
    documents are re-ingested.
    """

    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)
    asked_at = models.DateTimeField(auto_now_add=True, db_index=True)
    question = models.TextField()
    standalone_question = models.TextField(blank=True)
    channel = models.CharField(max_length=16, default="page")  # "page" or "api"
    status = models.CharField(max_length=16, choices=Message.Status.choices)
    retrieved_chunk_ids = ArrayField(models.BigIntegerField(), default=list)
    cited_chunk_ids = ArrayField(models.BigIntegerField(), default=list)
    retrieved_document_ids = ArrayField(models.BigIntegerField(), default=list)
    cited_document_ids = ArrayField(models.BigIntegerField(), default=list)
    model = models.CharField(max_length=200, blank=True)
    seconds_to_first_token = models.FloatField(null=True)
    seconds_total = models.FloatField(null=True)

    class Meta:
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} at {self.asked_at:%Y-%m-%d %H:%M}: {self.question[:60]}"
