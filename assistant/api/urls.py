from django.urls import path

from assistant.api.views import AskStreamView, AskView, ConversationViewSet, MessageViewSet

urlpatterns = [
    path("ask", AskView.as_view(), name="api-ask"),
    path("ask/stream", AskStreamView.as_view(), name="api-ask-stream"),
    path("conversations", ConversationViewSet.as_view({"get": "list"}), name="api-conversations"),
    path(
        "conversations/<int:pk>",
        ConversationViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-conversation",
    ),
    path(
        "conversations/<int:pk>/messages",
        ConversationViewSet.as_view({"get": "messages"}, filter_backends=[]),
        name="api-conversation-messages",
    ),
    path("messages/<int:pk>", MessageViewSet.as_view({"get": "retrieve"}), name="api-message"),
    path("messages/<int:pk>/feedback", MessageViewSet.as_view({"post": "feedback"}), name="api-message-feedback"),
    path("messages/<int:pk>/stop", MessageViewSet.as_view({"post": "stop"}), name="api-message-stop"),
]
