from django.contrib import admin
from django.urls import include, path

from assistant import pages
from assistant.views import answer_stop_view, answer_stream_view, ask, feedback_view
from config.views import health_page, healthz, livez, metrics, readyz
from knowledge.views import document_download, search

admin.site.site_header = "Enclave admin console"
admin.site.site_title = "Enclave admin"
admin.site.index_title = "Knowledge, people and access"

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
    path("documents/<int:document_id>/download", document_download, name="document-download"),
    path("livez", livez, name="livez"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("search", search, name="search"),
    path("api/", include("config.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/health/", admin.site.admin_view(health_page), name="admin-health"),
    path("admin/", admin.site.urls),
]
