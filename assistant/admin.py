"""The question log and answer feedback in the admin console: read-only, for knowledge admins.

The log can be narrowed by user (search), date, status and the document retrieved or cited, and
exported as CSV; feedback lists thumbs down first.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.admin_access import KnowledgeAdminOnly
from assistant.models import Feedback, QuestionLog
from assistant.selectors import retrieved_document_ids
from knowledge.selectors import document_list

CSV_COLUMNS = [
    "asked_at",
    "username",
    "channel",
    "status",
    "question",
    "standalone_question",
    "retrieved_document_ids",
    "cited_document_ids",
    "model",
    "seconds_to_first_token",
    "seconds_total",
]
DOCUMENTS_IN_FILTER = 100


class ReadOnly(KnowledgeAdminOnly):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the log is pruned by its retention setting, not by hand


class RetrievedDocumentFilter(admin.SimpleListFilter):
    """Questions for which a document was retrieved (it may or may not have been cited)."""

    title = "document retrieved"
    parameter_name = "document"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        in_log = retrieved_document_ids(fetched_by=request.user)
        documents = document_list(fetched_by=request.user).filter(pk__in=in_log).order_by("title")
        return [(str(pk), title) for pk, title in documents.values_list("pk", "title")[:DOCUMENTS_IN_FILTER]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[QuestionLog]) -> QuerySet[QuestionLog]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(retrieved_document_ids__contains=[int(value)])
        return queryset


@admin.register(QuestionLog)
class QuestionLogAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("asked_at", "username", "question", "status", "channel", "cited_document_ids", "seconds_total")
    list_filter = ("status", "channel", "asked_at", RetrievedDocumentFilter)
    search_fields = ("username", "question")
    date_hierarchy = "asked_at"
    actions = ["export_csv"]

    @admin.action(description="Export the selected questions as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[QuestionLog]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="question-log.csv"'
        response.write("\ufeff")  # so spreadsheet programs read the Chinese questions as UTF-8
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_row(entry) for entry in queryset.order_by("asked_at", "id"))
        return response


def _csv_row(entry: QuestionLog) -> list[str]:
    return [_csv_cell(getattr(entry, column)) for column in CSV_COLUMNS]


def _csv_cell(value: object) -> str:
    """A value as text a spreadsheet shows and never runs: a question typed as "=HYPERLINK(…)"
    would otherwise become a live formula in the auditor's spreadsheet."""
    if value is None:
        return ""
    text = " ".join(str(v) for v in value) if isinstance(value, Iterable) and not isinstance(value, str) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin.register(Feedback)
class FeedbackAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("updated_at", "given_by", "rating", "comment", "message")
    list_filter = ("rating",)
    list_select_related = ("given_by", "message")
    ordering = ("rating", "-updated_at")  # thumbs down first
