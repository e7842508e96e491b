from django.contrib import admin

from accounts.admin_access import KnowledgeAdminOnly
from knowledge.models import Document, Grant, Source


class SourceGrantInline(KnowledgeAdminOnly, admin.TabularInline):
    model = Grant
    fk_name = "source"
    fields = ("user", "group")
    extra = 1


class DocumentGrantInline(SourceGrantInline):
    fk_name = "document"


@admin.register(Source)
class SourceAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    list_display = ("name", "kind", "visible_to_all_staff", "created_at")
    list_filter = ("kind", "visible_to_all_staff")
    search_fields = ("name",)
    inlines = [SourceGrantInline]


@admin.register(Document)
class DocumentAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    list_display = ("title", "source", "status", "size_bytes", "updated_at")
    list_filter = ("status", "source")
    search_fields = ("title", "uri")
    readonly_fields = ("principals", "checksum", "created_at", "updated_at")
    list_select_related = ("source",)
    inlines = [DocumentGrantInline]
