"""The question log and answer feedback in the admin console: read-only, for knowledge admins.

Fuller audit pages (per-document filters, CSV export, feedback review) belong to the admin
console issue; this makes the log readable from the start.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_access import KnowledgeAdminOnly
from assistant.models import Feedback, QuestionLog


class ReadOnly(KnowledgeAdminOnly):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the log is pruned by its retention setting, not by hand


@admin.register(QuestionLog)
class QuestionLogAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("asked_at", "username", "question", "status", "channel", "cited_document_ids", "seconds_total")
    list_filter = ("status", "channel", "asked_at")
    search_fields = ("username", "question")
    date_hierarchy = "asked_at"


@admin.register(Feedback)
class FeedbackAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("updated_at", "given_by", "rating", "comment", "message")
    list_filter = ("rating",)
    list_select_related = ("given_by", "message")
    ordering = ("rating", "-updated_at")  # thumbs down first
