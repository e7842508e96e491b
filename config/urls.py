from django.contrib import admin
from django.urls import include, path

from assistant.views import answer_stop_view, answer_stream_view, ask, feedback_view, home
from config.views import healthz
from knowledge.views import search

admin.site.site_header = "Enclave admin console"
admin.site.site_title = "Enclave admin"
admin.site.index_title = "Knowledge, people and access"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("search", search, name="search"),
    path("chat/ask", ask, name="ask"),
    path("chat/answers/<int:message_id>/stream", answer_stream_view, name="answer-stream"),
    path("chat/answers/<int:message_id>/stop", answer_stop_view, name="answer-stop"),
    path("chat/answers/<int:message_id>/feedback", feedback_view, name="answer-feedback"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
