"""The knowledge part of the admin console: sources, documents and their grants. Every save goes
through the same services as the API and the commands (knowledge/services/sources.py, grants.py),
which record each change to who may see what, and the page says that it applies from the next
question. (The trail itself is shown by accounts/admin.py.)"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from accounts.admin_access import KnowledgeAdminOnly
from accounts.console import console_user
from knowledge.admin_access import (
    ACCESS_APPLIES_NEXT_QUESTION,
    DeletionSummary,
    GrantAccessInline,
    GroupAccessActions,
    grant_formset_save,
)
from knowledge.models import Chunk, Document, Grant, Source
from knowledge.parsing import BadDocument
from knowledge.selectors import source_list_with_sync_progress, sync_progress_of, sync_queued
from knowledge.selectors.access import document_audience
from knowledge.selectors.counts import document_deletion_counts, source_deletion_counts
from knowledge.selectors.documents import chunk_preview
from knowledge.selectors.manage import document_console_list, source_console_list
from knowledge.services.sources import (
    document_create,
    document_update,
    document_upload,
    documents_delete,
    documents_reingest_later,
    source_create,
    source_pause,
    source_resume,
    source_sync_later,
    source_update,
    sources_delete,
)

CHUNKS_PREVIEWED = 50


class SourceGrantInline(GrantAccessInline):
    fk_name = "source"


class DocumentGrantInline(GrantAccessInline):
    fk_name = "document"


class AccessAdmin(KnowledgeAdminOnly, GroupAccessActions, DeletionSummary, admin.ModelAdmin):
    """What sources and documents share: saves go through the services (which record changes to the
    "all staff" flag and to grants), and the page says when they apply."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        if change:
            # ``obj`` already holds the form's values; the service compares them with the row as saved.
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            self.update_model(request, self.get_object(request, str(obj.pk)), changes)
        else:
            obj.pk = self.create_model(request, form.cleaned_data).pk
            obj.refresh_from_db()  # the admin goes on with ``obj`` (inline grants, the log, the redirect)

    def create_model(self, request: HttpRequest, data: dict[str, Any]) -> Source | Document:
        raise NotImplementedError

    def update_model(self, request: HttpRequest, saved: Any, changes: dict[str, Any]) -> None:
        raise NotImplementedError

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is Grant:
            grant_formset_save(request, formset)
        else:
            super().save_formset(request, form, formset, change)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if "visible_to_all_staff" in form.changed_data or any(f.has_changed() for f in formsets):
            messages.info(request, ACCESS_APPLIES_NEXT_QUESTION)


@admin.register(Source)
class SourceAdmin(AccessAdmin):
    list_display = (
        "name",
        "kind",
        "state",
        "visible_to_all_staff",
        "document_count",
        "sync_progress",
        "last_synced_at",
    )
    list_filter = ("kind", "visible_to_all_staff", "paused")
    search_fields = ("name",)
    fields = (
        "name",
        "kind",
        "config",
        "permissions_from",
        "visible_to_all_staff",
        "sync_every_minutes",
        "state",
        "sync_progress",
        "files",
    )
    readonly_fields = ("state", "sync_progress", "files")
    inlines = [SourceGrantInline]
    actions = ["sync_now", "pause", "resume", "grant_group", "revoke_group"]
    change_form_template = "admin/knowledge/source/change_form.html"

    class Media:
        js = ("knowledge/admin-progress.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return source_list_with_sync_progress(fetched_by=request.user)

    @admin.display(description="Documents", ordering="document_count")
    def document_count(self, source: Source) -> int:
        return getattr(source, "document_count", 0)

    @admin.display(description="State", ordering="paused")
    def state(self, source: Source) -> str:
        return "paused" if source.paused else "active"

    @admin.display(description="Latest sync")
    def sync_progress(self, source: Source) -> str:
        if sync_queued(source) and not source.paused:
            return format_html("<span data-sync-running>{}</span>", "sync queued, waiting for a worker…")
        progress = sync_progress_of(source)
        if progress is None:
            return "never synced"
        if progress.error:
            return format_html('<span style="color:#ba2121">{}</span>', progress.error)
        running = not progress.finished and not source.paused
        return format_html(
            '<progress value="{}" max="100" {}></progress> {}/{} documents, {} failed, {} chunks{}',
            progress.percent,
            "data-sync-running" if running else "",
            progress.done,
            progress.total,
            progress.failed,
            progress.chunks,
            " (running)" if running else " (paused)" if not progress.finished else "",
        )

    @admin.display(description="Files")
    def files(self, source: Source) -> str:
        if source.pk is None or source.kind != Source.Kind.UPLOAD:
            return "-"
        url = reverse("admin:knowledge_source_upload", args=[source.pk])
        return format_html('<a class="button" href="{}">Upload files</a>', url)

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        selected = list(queryset)
        paused = [source.name for source in selected if source.paused]
        if paused:
            messages.warning(request, f"Paused, so not synced: {', '.join(paused)}. Resume them first.")
        active = [source for source in selected if not source.paused]
        for source in active:
            source_sync_later(source_id=source.pk)
        if active:
            self.message_user(request, f"Sync queued for {len(active)} source(s); progress shows below.")

    @admin.action(description="Pause syncing and ingestion")
    def pause(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_pause(source=source)
        self.message_user(request, f"Paused {queryset.count()} source(s). Their documents stay searchable.")

    @admin.action(description="Resume (and sync)")
    def resume(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_resume(source=source)
        self.message_user(request, f"Resumed {queryset.count()} source(s); a sync is queued for each.")

    def create_model(self, request: HttpRequest, data: dict[str, Any]) -> Source:
        given = {field: data[field] for field in ("name", "kind", "config", "visible_to_all_staff", "permissions_from")}
        return source_create(sync_every_minutes=data["sync_every_minutes"], acting_user=console_user(request), **given)

    def update_model(self, request: HttpRequest, saved: Source, changes: dict[str, Any]) -> None:
        source_update(source=saved, acting_user=console_user(request), **changes)

    def response_change(self, request: HttpRequest, obj: Source) -> HttpResponse:
        """The buttons above the form (sync, pause, resume) act on the source once it is saved."""
        for button, action in (("_sync", self.sync_now), ("_pause", self.pause), ("_resume", self.resume)):
            if button in request.POST:
                action(request, source_console_list(fetched_by=request.user).filter(pk=obj.pk))
                return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "<int:source_id>/upload/", self.admin_site.admin_view(self.upload_view), name="knowledge_source_upload"
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest, source_id: int) -> HttpResponse:
        source = self.get_object(request, str(source_id))
        if source is None or not self.has_change_permission(request, source):
            return HttpResponseRedirect(reverse("admin:knowledge_source_changelist"))
        if request.method == "POST":
            return self._receive_uploads(request, source)
        context = {**self.admin_site.each_context(request), "source": source, "title": f"Upload into {source}"}
        return TemplateResponse(request, "admin/knowledge/source/upload.html", context)

    def _receive_uploads(self, request: HttpRequest, source: Source) -> HttpResponse:
        files = request.FILES.getlist("files")
        received = 0
        for upload in files:
            try:
                document_upload(source=source, filename=upload.name or "", data=upload.read())
                received += 1
            except BadDocument as exc:
                messages.error(request, f"{upload.name}: {exc}")
        if received:
            messages.success(request, f"{received} file(s) received; ingestion is under way.")
        return HttpResponseRedirect(reverse("admin:knowledge_source_change", args=[source.pk]))

    def delete_model(self, request: HttpRequest, obj: Source) -> None:
        sources_delete(sources=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        sources_delete(sources=queryset)

    def deletion_counts(self, request: HttpRequest, ids: list[int]) -> dict[str, int]:
        return source_deletion_counts(fetched_by=request.user, source_ids=ids)


@admin.register(Document)
class DocumentAdmin(AccessAdmin):
    list_display = ("title", "source", "status", "error", "size_bytes", "chunk_count", "ingested_at")
    list_filter = ("status", "source", "visible_to_all_staff")
    search_fields = ("title", "uri")
    readonly_fields = (
        "uri",
        "status",
        "error",
        "checksum",
        "size_bytes",
        "metadata",
        "ingested_at",
        "who_can_see",
        "chunks_preview",
    )
    fields = ("title", "source", "uri", "visible_to_all_staff", *readonly_fields[1:])
    list_select_related = ("source",)
    inlines = [DocumentGrantInline]
    actions = ["reingest", "grant_group", "revoke_group"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return document_console_list(fetched_by=request.user)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Document | None = None,
    ) -> HttpResponse:
        if obj is not None:
            # Read here, where the request is known (the preview field only gets the document), and
            # only for the document's own page, not for the other views that fetch it.
            limit = CHUNKS_PREVIEWED + 1
            obj.previewed_chunks = chunk_preview(fetched_by=request.user, document_id=obj.pk, limit=limit)  # type: ignore[attr-defined]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def create_model(self, request: HttpRequest, data: dict[str, Any]) -> Document:
        given = {field: data[field] for field in ("source", "title", "visible_to_all_staff")}
        return document_create(acting_user=console_user(request), **given)

    def update_model(self, request: HttpRequest, saved: Document, changes: dict[str, Any]) -> None:
        document_update(document=saved, acting_user=console_user(request), **changes)

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> Any:
        # A document belongs to the source that produced it; moving it would orphan its file.
        return ("source", *self.readonly_fields) if obj is not None else self.readonly_fields

    @admin.display(description="Chunks", ordering="chunk_count")
    def chunk_count(self, document: Document) -> int:
        return getattr(document, "chunk_count", 0)

    @admin.display(description="Who can see it")
    def who_can_see(self, document: Document) -> str:
        if document.pk is None:
            return "-"
        url = reverse("admin:knowledge_document_audience", args=[document.pk])
        return format_html('<a href="{}">Every user who can see this document, and why</a>', url)

    @admin.display(description="Chunks (text and metadata)")
    def chunks_preview(self, document: Document) -> str:
        chunks: list[Chunk] = getattr(document, "previewed_chunks", [])
        if not chunks:
            return "No chunks yet."
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td><code>{}</code></td><td style="white-space:pre-wrap">{}</td></tr>',
            ((c.ordinal, c.metadata, c.text) for c in chunks[:CHUNKS_PREVIEWED]),
        )
        more = f"Showing the first {CHUNKS_PREVIEWED}." if len(chunks) > CHUNKS_PREVIEWED else ""
        return format_html(
            '<table class="chunk-preview"><thead><tr><th>#</th><th>Metadata</th><th>Text</th></tr></thead>'
            "<tbody>{}</tbody></table>{}",
            rows,
            more,
        )

    @admin.action(description="Re-ingest (even if unchanged)")
    def reingest(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        documents_reingest_later(document_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{queryset.count()} document(s) queued for ingestion.")

    def get_urls(self) -> list[URLPattern]:
        audience = path(
            "<int:document_id>/audience/",
            self.admin_site.admin_view(self.audience_view),
            name="knowledge_document_audience",
        )
        return [audience, *super().get_urls()]

    def audience_view(self, request: HttpRequest, document_id: int) -> HttpResponse:
        document = self.get_object(request, str(document_id))
        if document is None:
            return HttpResponseRedirect(reverse("admin:knowledge_document_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "document": document,
            "audience": document_audience(fetched_by=request.user, document=document),
            "title": f"Who can see {document.title}",
        }
        return TemplateResponse(request, "admin/knowledge/document/audience.html", context)

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        documents_delete(documents=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        documents_delete(documents=queryset.select_related("source"))

    def deletion_counts(self, request: HttpRequest, ids: list[int]) -> dict[str, int]:
        return document_deletion_counts(fetched_by=request.user, document_ids=ids)


import knowledge.user_admin  # noqa: E402, F401 - adds "what can this user see" to the user page
