"""Managing knowledge over the API (knowledge admins, with a token that has the ``admin`` scope):
sources and their syncs, uploads, grants, ingestion status. Writes go through the same services as
the admin console, with the caller as the one who made each change (the access trail names them)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import KnowledgeAdminOnly
from accounts.models import Scope
from core.api.base import ApiView, ApiViewSet
from core.api.errors import Conflict, ErrorSerializer, RequestTooLarge
from core.errors import about_field
from knowledge.api.filters import GrantFilterSet
from knowledge.api.serializers import (
    DocumentSerializer,
    GrantSerializer,
    IngestionSerializer,
    SourceSerializer,
    SourceStatusSerializer,
    UploadSerializer,
)
from knowledge.models import Grant, Source
from knowledge.selectors import source_list_with_sync_progress, sync_progress_of
from knowledge.selectors.manage import (
    access_grant_by_id,
    access_source_by_id,
    document_status_counts,
    grant_list,
    ingestion_status,
)
from knowledge.services.grants import grant_create, grant_revoke
from knowledge.services.sources import (
    PAUSED,
    document_upload,
    source_create,
    source_pause,
    source_resume,
    source_sync_later,
    source_update,
    sources_delete,
)

ADMIN_PERMISSIONS = [*ApiView.permission_classes, KnowledgeAdminOnly]
MULTIPART_SLACK_BYTES = 1024 * 1024  # the form's own bytes around the file


class QueuedSerializer(serializers.Serializer):
    source = serializers.IntegerField()
    message = serializers.CharField()


class SourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    required_scope = Scope.ADMIN
    permission_classes = ADMIN_PERMISSIONS
    serializer_class = SourceSerializer
    ordering_fields = ["name", "created_at", "last_synced_at"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Source]:
        return source_list_with_sync_progress(fetched_by=self.request.user)

    def get_object(self) -> Source:
        return access_source_by_id(fetched_by=self.request.user, source_id=self.kwargs["pk"])

    def max_body_bytes(self) -> int:
        if getattr(self, "action", None) == "upload":
            return settings.ENCLAVE_MAX_FILE_BYTES + MULTIPART_SLACK_BYTES
        return super().max_body_bytes()

    def _shown(self, source: Source, code: int = status.HTTP_200_OK) -> Response:
        fresh = access_source_by_id(fetched_by=self.request.user, source_id=source.pk)  # with its progress
        return Response(SourceSerializer(fresh).data, status=code)

    @extend_schema(summary="Add a source (its first sync is queued)")
    def create(self, request: Request) -> Response:
        given = SourceSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        source = source_create(acting_user=request.user, **given.validated_data)  # type: ignore[arg-type]
        return self._shown(source, status.HTTP_201_CREATED)

    @extend_schema(summary="Change a source's name, config, schedule or all-staff visibility")
    def partial_update(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        given = SourceSerializer(source, data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        source_update(source=source, acting_user=request.user, **given.validated_data)  # type: ignore[arg-type]
        return self._shown(source)

    @extend_schema(summary="Delete a source with its documents, chunks and grants")
    def destroy(self, request: Request, pk: int) -> Response:
        sources_delete(sources=[self.get_object()])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: QueuedSerializer, 409: ErrorSerializer}, summary="Sync a source now")
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        if source.paused:
            raise Conflict(PAUSED)
        source_sync_later(source_id=source.pk)
        body = {"source": source.pk, "message": "Sync queued; GET the source's status to follow it."}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=SourceSerializer, summary="Pause syncing and ingestion")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        source_pause(source=source)
        return self._shown(source)

    @extend_schema(request=None, responses=SourceSerializer, summary="Resume (and sync)")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        source_resume(source=source)
        return self._shown(source)

    @extend_schema(responses=SourceStatusSerializer, summary="Sync progress and documents by status")
    @action(detail=True, methods=["get"], url_path="status")
    def sync_status(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        body: dict[str, Any] = {
            "state": "paused" if source.paused else "active",
            "last_synced_at": source.last_synced_at,
            "sync": sync_progress_of(source),
            "documents": document_status_counts(fetched_by=request.user, source=source),
        }
        return Response(SourceStatusSerializer(body).data)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: DocumentSerializer},
        summary="Upload a file into an upload source (queued for ingestion)",
    )
    @action(detail=True, methods=["post"], url_path="documents", parser_classes=[MultiPartParser])
    def upload(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        given = UploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data["file"]
        if upload.size > settings.ENCLAVE_MAX_FILE_BYTES:
            limit = settings.ENCLAVE_MAX_FILE_BYTES
            raise RequestTooLarge(f"{upload.name} is {upload.size:,} bytes; files may be at most {limit:,} bytes.")
        with about_field("file"):
            document = document_upload(source=source, filename=upload.name or "", data=upload.read())
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(summary="Grants, newest first"))
class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    required_scope = Scope.ADMIN
    permission_classes = ADMIN_PERMISSIONS
    serializer_class = GrantSerializer
    filterset_class = GrantFilterSet
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Grant]:
        return grant_list(fetched_by=self.request.user)

    def get_object(self) -> Grant:
        return access_grant_by_id(fetched_by=self.request.user, grant_id=self.kwargs["pk"])

    @extend_schema(summary="Let a user or group see a source or document (an existing grant is returned as is)")
    def create(self, request: Request) -> Response:
        given = GrantSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        grant = grant_create(acting_user=request.user, **given.validated_data)  # type: ignore[arg-type]
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke a grant (from the next question on)")
    def destroy(self, request: Request, pk: int) -> Response:
        grant_revoke(grant=self.get_object(), acting_user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class IngestionView(ApiView):
    required_scope = Scope.ADMIN
    permission_classes = ADMIN_PERMISSIONS

    @extend_schema(responses=IngestionSerializer, summary="Documents by status, syncs running, recent failures")
    def get(self, request: Request) -> Response:
        return Response(IngestionSerializer(ingestion_status(fetched_by=request.user)).data)
