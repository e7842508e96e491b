"""The REST API: /api/v1/..., its OpenAPI schema at /api/schema/ and its documentation at /api/docs/
(Swagger UI, its scripts served from Enclave itself; Redoc is left out because its page loads fonts
from Google)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api.errors import api_not_found

urlpatterns = [
    path("v1/", include("accounts.api.urls")),
    path("v1/", include("assistant.api.urls")),
    path("v1/", include("knowledge.api.urls")),
    re_path(r"^v1/(?P<path>[\s\S]*)\Z", api_not_found),  # any character: a decoded %0A too
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
