from __future__ import annotations

from rest_framework import serializers

from assistant.models import Conversation, Feedback, Message
from assistant.selectors import ShownCitation, ShownMessage
from assistant.services.conversations import MAX_QUESTION_CHARS
from core.api.strict import StrictTypes


class AskSerializer(StrictTypes, serializers.Serializer):
    question = serializers.CharField(max_length=MAX_QUESTION_CHARS, help_text="In English or Chinese")
    conversation = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Continue this conversation (a follow-up question)"
    )


class CitationSerializer(serializers.Serializer[ShownCitation]):
    """A passage the answer was given; its content is null when the reader may no longer see it."""

    number = serializers.IntegerField(help_text="As cited in the text: [number]")
    cited = serializers.BooleanField(help_text="Whether the answer relies on it")
    available = serializers.SerializerMethodField(help_text="False when deleted or no longer visible to you")
    chunk = serializers.SerializerMethodField()
    document = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField(help_text="Section or page")
    text = serializers.SerializerMethodField()

    def get_available(self, citation: ShownCitation) -> bool:
        return citation.chunk is not None

    def get_chunk(self, citation: ShownCitation) -> int | None:
        return citation.chunk.pk if citation.chunk else None

    def get_document(self, citation: ShownCitation) -> int | None:
        return citation.chunk.document_id if citation.chunk else None

    def get_title(self, citation: ShownCitation) -> str | None:
        return citation.chunk.document.title if citation.chunk else None

    def get_source(self, citation: ShownCitation) -> str | None:
        return citation.chunk.document.source.name if citation.chunk else None

    def get_location(self, citation: ShownCitation) -> str | None:
        if citation.chunk is None:
            return None
        metadata = citation.chunk.metadata
        return str(metadata.get("section") or metadata.get("page") or "")

    def get_text(self, citation: ShownCitation) -> str | None:
        return citation.chunk.text if citation.chunk else None


class MessageSerializer(serializers.Serializer[ShownMessage]):
    id = serializers.IntegerField(source="message.pk")
    conversation = serializers.IntegerField(source="message.conversation_id")
    role = serializers.ChoiceField(source="message.role", choices=Message.Role.choices)
    status = serializers.ChoiceField(
        source="message.status",
        choices=Message.Status.choices,
        help_text="answered (with citations), passages (the best passages instead of an unsupported answer), "
        "refused (nothing relevant you may see), stopped, failed; pending or generating while under way",
    )
    text = serializers.CharField(help_text="Withheld when a passage it relied on is no longer visible to you")
    withheld = serializers.BooleanField()
    language = serializers.CharField(source="message.language")
    standalone_question = serializers.CharField(
        source="message.standalone_question", help_text="What was searched: a follow-up rewritten to stand alone"
    )
    created_at = serializers.DateTimeField(source="message.created_at")
    finished_at = serializers.DateTimeField(source="message.finished_at", allow_null=True)
    rating = serializers.ChoiceField(choices=Feedback.Rating.choices, allow_null=True, help_text="Your feedback")
    citations = CitationSerializer(many=True)


class ConversationSerializer(StrictTypes, serializers.ModelSerializer[Conversation]):
    messages_url = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = ["id", "title", "created_at", "updated_at", "messages_url"]
        read_only_fields = ["id", "created_at", "updated_at", "messages_url"]
        extra_kwargs = {"title": {"max_length": 200, "allow_blank": False}}

    def get_messages_url(self, conversation: Conversation) -> str:
        return f"/api/v1/conversations/{conversation.pk}/messages"


class FeedbackSerializer(StrictTypes, serializers.Serializer):
    rating = serializers.ChoiceField(choices=Feedback.Rating.choices, help_text="1 helpful, -1 not helpful")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class StopSerializer(serializers.Serializer):
    message = serializers.IntegerField()
    stopping = serializers.BooleanField()
