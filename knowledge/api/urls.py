from django.urls import path

from core.api.routers import ApiRouter
from knowledge.api.admin_views import GrantViewSet, IngestionView, SourceViewSet
from knowledge.api.views import DocumentAudienceView, DocumentDownloadView, DocumentViewSet, SearchView

router = ApiRouter()
router.register("documents", DocumentViewSet, basename="api-document")
router.register("sources", SourceViewSet, basename="api-source")
router.register("grants", GrantViewSet, basename="api-grant")

urlpatterns = [
    path("search", SearchView.as_view(), name="api-search"),
    path("documents/<int:pk>/download", DocumentDownloadView.as_view(), name="api-document-download"),
    path("documents/<int:pk>/audience", DocumentAudienceView.as_view(), name="api-document-audience"),
    path("ingestion", IngestionView.as_view(), name="api-ingestion"),
    *router.urls,
]
