"""Sources, documents, chunks and the grants that decide who may see them.

``principals`` on documents and chunks is a denormalised copy of "who may see this" (see
knowledge/permissions.py for the vocabulary). Database triggers (migration 0002) keep it in step
with grants and the "all staff" flags inside the same transaction, so the visibility filter can sit
inside the vector-ranking SQL as one GIN-indexed array overlap, and row-level security can use it too.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from pgvector.django import VectorField

from knowledge.querysets import ChunkQuerySet, DocumentQuerySet


class Source(models.Model):
    class Kind(models.TextChoices):
        UPLOAD = "upload", "Uploaded files"
        FOLDER = "folder", "Server folder"
        URL = "url", "Web pages"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.UPLOAD)
    config = models.JSONField(
        default=dict,
        blank=True,
        help_text='Server folder: {"path": "/srv/docs", "recursive": true, "include": ["*.pdf"], '
        '"exclude": ["drafts/*"]}. Web pages: {"urls": ["https://intranet/page"]}. Uploads: {}.',
    )
    visible_to_all_staff = models.BooleanField(default=False)

    class PermissionsFrom(models.TextChoices):
        GRANTS = "grants", "Enclave's grants"
        SOURCE = "source", "The source's own permissions (ACLs), plus Enclave's grants"

    permissions_from = models.CharField(
        max_length=8,
        choices=PermissionsFrom.choices,
        default=PermissionsFrom.GRANTS,
        help_text="Who decides who may see each document: grants made in Enclave, or the ACLs read from the "
        "source at every sync (a deny entry there beats every allow)",
    )
    sync_every_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sync on a schedule; empty means only when asked"
    )
    paused = models.BooleanField(
        default=False,
        help_text="A paused source is not synced, and its documents waiting for ingestion wait until it resumes",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when a sync is asked for, so the console can show "queued" before a worker picks it up.
    sync_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    """One pass over a source. Progress is counted from the documents that point at the run, so a
    task that runs twice cannot count a document twice."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Asked for"
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command line"
        UPLOAD = "upload", "Upload"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    documents_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the source itself could not be read")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.source} sync {self.started_at:%Y-%m-%d %H:%M}"


class Document(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=500)
    uri = models.CharField(max_length=2000, help_text="Path within the source, file name or URL")
    checksum = models.CharField(max_length=64, blank=True, help_text="sha256 of the bytes last ingested")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why ingestion failed, in words")
    metadata = models.JSONField(default=dict, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    visible_to_all_staff = models.BooleanField(default=False)
    principals = ArrayField(models.TextField(), default=list, blank=True, editable=False)
    # Principals a deny entry of the source's ACL shuts out, whatever admits them (kept by the same
    # triggers as principals; empty unless the source's permissions come from the source).
    denied = ArrayField(models.TextField(), default=list, blank=True, editable=False)
    sync_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents", editable=False
    )
    ingested_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "uri"], name="document_unique_uri_per_source")]
        indexes = [GinIndex(fields=["principals"], name="document_principals_gin")]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True, help_text="page, section, heading path")
    # No fixed dimension: models differ (384, 512). Each model gets its own partial HNSW index over
    # `embedding::vector(N)` for its rows (knowledge/vector_index.py), created after `migrate`.
    embedding = VectorField(null=True)
    embedding_model = models.CharField(max_length=200, blank=True)
    search_vector = SearchVectorField(null=True)
    principals = ArrayField(models.TextField(), default=list, blank=True, editable=False)
    denied = ArrayField(models.TextField(), default=list, blank=True, editable=False)

    objects = ChunkQuerySet.as_manager()

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_unique_ordinal")]
        indexes = [
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
            GinIndex(fields=["principals"], name="chunk_principals_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


class Grant(models.Model):
    """View access for one user or one group, on one source (all its documents) or one document."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="knowledge_grants"
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="knowledge_grants")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="grant_to_user_xor_group",
                violation_error_message="A grant is for exactly one user or one group.",
            ),
            models.CheckConstraint(
                condition=Q(source__isnull=False, document__isnull=True)
                | Q(source__isnull=True, document__isnull=False),
                name="grant_on_source_xor_document",
                violation_error_message="A grant is on exactly one source or one document.",
            ),
            models.UniqueConstraint(
                fields=["user", "group", "source", "document"],
                nulls_distinct=False,
                name="grant_unique",
                violation_error_message="This grant already exists.",
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user}" if self.user_id else f"group {self.group}"
        what = f"source {self.source}" if self.source_id else f"document {self.document}"
        return f"{who} may view {what}"


class AclEntry(models.Model):
    """One entry of a document's access-control list as read from its source (an NT ACE, a POSIX
    ACL entry), and the Enclave principal it became.

    It counts only when the source's ``permissions_from`` is ``source``. An entry naming someone
    Enclave does not know (an unmapped SID) has no user or group and is kept anyway, so the console
    can say what it could not map rather than drop it silently.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="acl_entries")
    position = models.PositiveIntegerField(help_text="The entry's place in the ACL as read")
    allow = models.BooleanField(help_text="False: a deny entry, which beats every allow")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    everyone = models.BooleanField(default=False, help_text="Everyone / Authenticated Users / other: all staff")
    as_read = models.CharField(max_length=300, help_text='The entry as the source names it, e.g. "DOMAIN\\Finance"')
    inherited_from = models.CharField(max_length=1000, blank=True, help_text="The folder it is inherited from, if any")

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="acl_entry_unique_position"),
            models.CheckConstraint(
                condition=~(Q(user__isnull=False) & Q(group__isnull=False)),
                name="acl_entry_one_principal",
                violation_error_message="An ACL entry names at most one user or one group.",
            ),
        ]

    def __str__(self) -> str:
        return f"{'allow' if self.allow else 'deny'} {self.as_read}"
