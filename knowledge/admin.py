from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.admin_access import KnowledgeAdminOnly
from knowledge.models import Document, Grant, Source
from knowledge.selectors import source_list_with_sync_progress, sync_progress_of
from knowledge.services.parsing import BadDocument
from knowledge.services.sources import document_upload, documents_reingest_later, source_sync_later


class SourceGrantInline(KnowledgeAdminOnly, admin.TabularInline):
    model = Grant
    fk_name = "source"
    fields = ("user", "group")
    extra = 1


class DocumentGrantInline(SourceGrantInline):
    fk_name = "document"


@admin.register(Source)
class SourceAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    list_display = ("name", "kind", "visible_to_all_staff", "document_count", "sync_progress", "last_synced_at")
    list_filter = ("kind", "visible_to_all_staff")
    search_fields = ("name",)
    fields = ("name", "kind", "config", "visible_to_all_staff", "sync_every_minutes", "sync_progress", "files")
    readonly_fields = ("sync_progress", "files")
    inlines = [SourceGrantInline]
    actions = ["sync_now"]

    class Media:
        js = ("knowledge/admin-progress.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return source_list_with_sync_progress(fetched_by=request.user)

    @admin.display(description="Documents", ordering="document_count")
    def document_count(self, source: Source) -> int:
        return getattr(source, "document_count", 0)

    @admin.display(description="Latest sync")
    def sync_progress(self, source: Source) -> str:
        progress = sync_progress_of(source)
        if progress is None:
            return "never synced"
        if progress.error:
            return format_html('<span style="color:#ba2121">{}</span>', progress.error)
        return format_html(
            '<progress value="{}" max="100" {}></progress> {}/{} documents, {} failed, {} chunks{}',
            progress.percent,
            "" if progress.finished else "data-sync-running",
            progress.done,
            progress.total,
            progress.failed,
            progress.chunks,
            "" if progress.finished else " (running)",
        )

    @admin.display(description="Files")
    def files(self, source: Source) -> str:
        if source.pk is None or source.kind != Source.Kind.UPLOAD:
            return "-"
        url = reverse("admin:knowledge_source_upload", args=[source.pk])
        return format_html('<a class="button" href="{}">Upload files</a>', url)

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_sync_later(source_id=source.pk)
        self.message_user(request, f"Sync queued for {queryset.count()} source(s); progress shows below.")

    def response_post_save_add(self, request: HttpRequest, obj: Source) -> HttpResponseRedirect:
        source_sync_later(source_id=obj.pk)  # a new source is useless until synced
        return super().response_post_save_add(request, obj)

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
        for upload in files:
            try:
                document_upload(source=source, filename=upload.name or "", data=upload.read())
            except BadDocument as exc:
                messages.error(request, f"{upload.name}: {exc}")
        messages.success(request, f"{len(files)} file(s) received; ingestion is under way.")
        return HttpResponseRedirect(reverse("admin:knowledge_source_change", args=[source.pk]))


@admin.register(Document)
class DocumentAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    list_display = ("title", "source", "status", "error", "size_bytes", "chunk_count", "ingested_at")
    list_filter = ("status", "source")
    search_fields = ("title", "uri")
    readonly_fields = ("uri", "status", "error", "checksum", "size_bytes", "metadata", "principals", "ingested_at")
    fields = ("title", "source", "uri", "visible_to_all_staff", *readonly_fields[1:])
    list_select_related = ("source",)
    inlines = [DocumentGrantInline]
    actions = ["reingest"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).annotate(chunk_count=Count("chunks"))

    @admin.display(description="Chunks", ordering="chunk_count")
    def chunk_count(self, document: Document) -> int:
        return getattr(document, "chunk_count", 0)

    @admin.action(description="Re-ingest (even if unchanged)")
    def reingest(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        documents_reingest_later(document_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{queryset.count()} document(s) queued for ingestion.")
