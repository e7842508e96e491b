from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from core.api.strict import StrictTypes
from knowledge.models import Document, Grant, Source
from knowledge.selectors import document_list, sync_progress_of, sync_queued
from knowledge.selectors.access import AclLine, DocumentAudience
from knowledge.selectors.manage import source_console_list

MAX_K = 50


# --- Reading ------------------------------------------------------------------------------------


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=2000, help_text="What to search for, in any language")
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10, help_text="How many passages")
    source = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, help_text="Only these sources"
    )
    format = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, default=list, help_text="Only pdf, md, docx, ..."
    )


class SearchHitSerializer(serializers.Serializer):
    chunk = serializers.IntegerField(source="chunk.pk")
    document = serializers.IntegerField(source="chunk.document_id")
    title = serializers.CharField(source="chunk.document.title")
    source = serializers.CharField(source="chunk.document.source.name")
    section = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField()
    text = serializers.CharField(source="chunk.text")
    score = serializers.FloatField(help_text="Fused rank score (higher is better)")
    distance = serializers.FloatField(
        allow_null=True, help_text="Cosine distance to the question; null if only by keyword"
    )

    def get_section(self, hit: Any) -> str:
        return str(hit.chunk.metadata.get("section", ""))

    def get_page(self, hit: Any) -> int | None:
        page = hit.chunk.metadata.get("page")
        return page if isinstance(page, int) else None


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    results = SearchHitSerializer(many=True)


class SourceRefSerializer(serializers.ModelSerializer[Source]):
    class Meta:
        model = Source
        fields = ["id", "name"]
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer[Document]):
    source = SourceRefSerializer(read_only=True)
    format = serializers.SerializerMethodField(help_text="pdf, md, txt, html, docx, ... once ingested")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "source",
            "uri",
            "status",
            "error",
            "format",
            "size_bytes",
            "visible_to_all_staff",
            "ingested_at",
            "created_at",
            "updated_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_format(self, document: Document) -> str:
        return str(document.metadata.get("format", ""))

    def get_download_url(self, document: Document) -> str:
        return reverse("api-document-download", args=[document.pk])


class ViewerSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class GrantLineSerializer(serializers.Serializer):
    grant_id = serializers.IntegerField()
    who = serializers.CharField()
    on = serializers.CharField()
    granted_by = serializers.CharField()
    granted_at = serializers.DateTimeField()


class AclLineSerializer(serializers.Serializer[AclLine]):
    as_read = serializers.CharField(help_text="The entry's principal as the source names it")
    allow = serializers.BooleanField(help_text="False: a deny entry, which beats every allow")
    inherited_from = serializers.CharField(help_text="The folder it is inherited from; empty if set on the file")
    became = serializers.CharField(help_text="The Enclave user or group it maps to, or that it maps to nobody")


class AudienceSerializer(serializers.Serializer[DocumentAudience]):
    all_staff_reason = serializers.CharField(help_text="Why every active user may see it; empty if not")
    viewer_count = serializers.IntegerField()
    viewers = ViewerSerializer(many=True, help_text="The first 500, by name, each with why")
    grants = GrantLineSerializer(many=True)
    acl_counts = serializers.BooleanField(help_text="Whether the source's ACL decides (its permissions come from it)")
    acl = AclLineSerializer(many=True, help_text="The source's ACL for this document, as read at the last sync")
    denied = serializers.ListField(child=serializers.CharField(), help_text="Deny entries that shut people out")


# --- Managing (knowledge admins) ----------------------------------------------------------------


class SyncProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    chunks = serializers.IntegerField()
    finished = serializers.BooleanField()
    error = serializers.CharField(help_text="Why the source itself could not be read; empty if it could")
    percent = serializers.IntegerField()


class SourceSerializer(StrictTypes, serializers.ModelSerializer[Source]):
    kind = serializers.ChoiceField(choices=Source.Kind.choices, help_text="Fixed once the source exists")
    config = serializers.DictField(
        required=False,
        help_text='folder: {"path": "/srv/docs", "recursive": true, "include": ["*.pdf"], "exclude": ["drafts/*"]}; '
        'url: {"urls": ["https://intranet/page"]}; upload: {}',
    )
    sync_every_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=527040, help_text="null: only when asked"
    )
    document_count = serializers.IntegerField(read_only=True)
    sync_queued = serializers.SerializerMethodField(help_text="A sync was asked for and no worker has started it yet")
    sync = serializers.SerializerMethodField(help_text="The latest sync's progress; null if never synced")

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "kind",
            "config",
            "visible_to_all_staff",
            "permissions_from",
            "sync_every_minutes",
            "paused",
            "last_synced_at",
            "created_at",
            "document_count",
            "sync_queued",
            "sync",
        ]
        read_only_fields = ["id", "paused", "last_synced_at", "created_at", "document_count", "sync_queued", "sync"]

    def get_sync_queued(self, source: Source) -> bool:
        return sync_queued(source)

    @extend_schema_field(SyncProgressSerializer(allow_null=True))
    def get_sync(self, source: Source) -> dict | None:
        progress = sync_progress_of(source)
        return None if progress is None else SyncProgressSerializer(progress).data

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        kind = data.get("kind", self.instance.kind if self.instance else None)
        if self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError({"kind": ["A source's kind cannot change; create another source."]})
        if "config" in data or self.instance is None:
            data["config"] = _checked_config(str(kind), data.get("config", {}))
        return data


def _checked_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    if not _storable(config):
        raise serializers.ValidationError({"config": ["Text in the config may not hold NUL or unpaired surrogates."]})
    if kind == Source.Kind.FOLDER:
        path = config.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise serializers.ValidationError({"config": ['A folder source needs {"path": "/absolute/folder"}.']})
        for key in ("include", "exclude"):
            patterns = config.get(key, [])
            if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                raise serializers.ValidationError({"config": [f'"{key}" is a list of patterns such as "*.pdf".']})
    elif kind == Source.Kind.URL:
        urls = config.get("urls")
        if not isinstance(urls, list) or not urls or not all(_is_web_address(url) for url in urls):
            raise serializers.ValidationError({"config": ['A web pages source needs {"urls": ["https://..."]}.']})
    return config


def _storable(value: Any) -> bool:
    """PostgreSQL's JSON cannot hold a NUL character, and UTF-8 no unpaired surrogate."""
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)
    return True


def _is_web_address(url: Any) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


class SourceStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["active", "paused"])
    last_synced_at = serializers.DateTimeField(allow_null=True)
    sync = SyncProgressSerializer(allow_null=True)
    documents = serializers.DictField(child=serializers.IntegerField(), help_text="Documents by status")


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="txt, md, html, pdf, docx, xlsx, ods, csv, tsv, pptx, eml, mbox; a file of the same name is replaced"
    )


class FailedDocumentSerializer(serializers.ModelSerializer[Document]):
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Document
        fields = ["id", "title", "source", "error", "updated_at"]
        read_only_fields = fields


class IngestionSerializer(serializers.Serializer):
    documents = serializers.DictField(child=serializers.IntegerField(), help_text="Documents by status")
    sources_syncing = serializers.IntegerField()
    recent_failures = FailedDocumentSerializer(many=True)


class VisibleDocumentField(serializers.PrimaryKeyRelatedField):
    """A document id, looked up among the documents the caller may see (the selector decides)."""

    def get_queryset(self) -> QuerySet[Document]:
        return document_list(fetched_by=self.context["request"].user)


class ManagedSourceField(serializers.PrimaryKeyRelatedField):
    """A source id, among the sources the caller manages (the selector decides: admins, all)."""

    def get_queryset(self) -> QuerySet[Source]:
        return source_console_list(fetched_by=self.context["request"].user)


class GrantSerializer(StrictTypes, serializers.ModelSerializer[Grant]):
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), required=False, allow_null=True, help_text="A username"
    )
    group = serializers.SlugRelatedField(
        slug_field="name", queryset=Group.objects.all(), required=False, allow_null=True, help_text="A group name"
    )
    source = ManagedSourceField(required=False, allow_null=True)
    document = VisibleDocumentField(required=False, allow_null=True)
    granted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Grant
        fields = ["id", "user", "group", "source", "document", "granted_by", "created_at"]
        read_only_fields = ["id", "granted_by", "created_at"]
        validators: list[Any] = []  # one grant per pair: granting twice returns the existing grant

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if bool(data.get("user")) == bool(data.get("group")):
            raise serializers.ValidationError("Give exactly one of user (a username) or group (a group name).")
        if bool(data.get("source")) == bool(data.get("document")):
            raise serializers.ValidationError("Give exactly one of source or document (an id).")
        return data
