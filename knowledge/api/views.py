"""Search and the documents a user may see (scope ``read``). Every read goes through the selectors
with the caller as ``fetched_by``: a document they may not see is a 404, as if it did not exist."""

from __future__ import annotations

from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import KnowledgeAdminOnly
from accounts.models import Scope
from core.api.base import ApiView, ApiViewSet
from knowledge.api.filters import DocumentFilterSet
from knowledge.api.serializers import (
    AudienceSerializer,
    DocumentSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
)
from knowledge.models import Document
from knowledge.querysets import DocumentQuerySet
from knowledge.selectors import access_document_by_id, document_list, document_original
from knowledge.selectors.access import document_audience
from knowledge.selectors.search import SearchFilters, chunk_search
from knowledge.views import original_response


class SearchView(ApiView):
    required_scope = Scope.READ

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses=SearchResultSerializer,
        summary="Search the passages you may see",
        description="Hybrid (vector + keyword) search; passages of documents you may not see are never ranked.",
    )
    def get(self, request: Request) -> Response:
        query = self.query_params_of(SearchQuerySerializer)
        filters = SearchFilters(source_ids=query["source"], formats=query["format"])
        hits = chunk_search(fetched_by=request.user, query=query["q"], k=query["k"], filters=filters)
        return Response(SearchResultSerializer({"query": query["q"], "results": hits}).data)


@extend_schema_view(
    list=extend_schema(summary="The documents you may see"),
    retrieve=extend_schema(summary="One document you may see"),
)
class DocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    required_scope = Scope.READ
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilterSet
    ordering_fields = ["title", "created_at", "ingested_at", "size_bytes"]
    ordering = ["title", "id"]

    def get_queryset(self) -> DocumentQuerySet:
        return document_list(fetched_by=self.request.user)

    def get_object(self) -> Document:
        return access_document_by_id(fetched_by=self.request.user, document_id=self.kwargs["pk"])


class DocumentDownloadView(ApiView):
    required_scope = Scope.READ

    @extend_schema(
        summary="Download a document's original",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file"),
            302: OpenApiResponse(description="A web page source: the page's own address, in Location"),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        return original_response(document_original(fetched_by=request.user, document_id=pk))


class DocumentAudienceView(ApiView):
    """Who can see a document now, and why (knowledge admins, scope ``admin``)."""

    required_scope = Scope.ADMIN
    permission_classes = [*ApiView.permission_classes, KnowledgeAdminOnly]

    @extend_schema(responses=AudienceSerializer, summary="Who can see this document, and why")
    def get(self, request: Request, pk: int) -> Response:
        document = access_document_by_id(fetched_by=request.user, document_id=pk)
        return Response(AudienceSerializer(document_audience(fetched_by=request.user, document=document)).data)
