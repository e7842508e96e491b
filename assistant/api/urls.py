from django.urls import path

from assistant.api.views import AskStreamView, AskView, ConversationViewSet, MessageViewSet
from core.api.routers import ApiRouter

router = ApiRouter()
router.register("conversations", ConversationViewSet, basename="api-conversation")
router.register("messages", MessageViewSet, basename="api-message")

urlpatterns = [
    path("ask", AskView.as_view(), name="api-ask"),
    path("ask/stream", AskStreamView.as_view(), name="api-ask-stream"),
    *router.urls,
]
