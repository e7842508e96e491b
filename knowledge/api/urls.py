from django.urls import path
from rest_framework.parsers import MultiPartParser

from knowledge.api.admin_views import GrantViewSet, IngestionView, SourceViewSet
from knowledge.api.views import DocumentAudienceView, DocumentDownloadView, DocumentViewSet, SearchView

urlpatterns = [
    path("search", SearchView.as_view(), name="api-search"),
    path("documents", DocumentViewSet.as_view({"get": "list"}), name="api-documents"),
    path("documents/<int:pk>", DocumentViewSet.as_view({"get": "retrieve"}), name="api-document"),
    path("documents/<int:pk>/download", DocumentDownloadView.as_view(), name="api-document-download"),
    path("documents/<int:pk>/audience", DocumentAudienceView.as_view(), name="api-document-audience"),
    path("sources", SourceViewSet.as_view({"get": "list", "post": "create"}), name="api-sources"),
    path(
        "sources/<int:pk>",
        SourceViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-source",
    ),
    path("sources/<int:pk>/sync", SourceViewSet.as_view({"post": "sync"}), name="api-source-sync"),
    path("sources/<int:pk>/pause", SourceViewSet.as_view({"post": "pause"}), name="api-source-pause"),
    path("sources/<int:pk>/resume", SourceViewSet.as_view({"post": "resume"}), name="api-source-resume"),
    path("sources/<int:pk>/status", SourceViewSet.as_view({"get": "sync_status"}), name="api-source-status"),
    path(
        "sources/<int:pk>/documents",
        SourceViewSet.as_view({"post": "upload"}, parser_classes=[MultiPartParser]),
        name="api-source-upload",
    ),
    path("grants", GrantViewSet.as_view({"get": "list", "post": "create"}), name="api-grants"),
    path("grants/<int:pk>", GrantViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="api-grant"),
    path("ingestion", IngestionView.as_view(), name="api-ingestion"),
]
