"""The chat page and its fragments, streams and actions."""

from django.urls import path

from assistant import pages
from assistant.views import answer_stop_view, answer_stream_view, ask, feedback_view

urlpatterns = [
    path("", pages.chat_page, name="chat"),
    path("chat/<int:conversation_id>", pages.chat_page, name="conversation"),
    path("chat/conversations", pages.conversations_fragment, name="conversation-list"),
    path("chat/conversations/<int:conversation_id>/rename", pages.conversation_rename_view, name="conversation-rename"),
    path("chat/conversations/<int:conversation_id>/delete", pages.conversation_delete_view, name="conversation-delete"),
    path("chat/ask", ask, name="ask"),
    path("chat/answers/<int:message_id>", pages.answer_fragment, name="answer"),
    path("chat/answers/<int:message_id>/stream", answer_stream_view, name="answer-stream"),
    path("chat/answers/<int:message_id>/stop", answer_stop_view, name="answer-stop"),
    path("chat/answers/<int:message_id>/feedback", feedback_view, name="answer-feedback"),
    path("chat/answers/<int:message_id>/citations/<int:number>", pages.citation_fragment, name="answer-citation"),
]
