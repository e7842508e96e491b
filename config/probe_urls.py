"""The probes (liveness, health, readiness, metrics) and the console's health and identity pages."""

from django.contrib import admin
from django.urls import path

from config.views import health_page, healthz, identity_page, livez, metrics, readyz

urlpatterns = [
    path("livez", livez, name="livez"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/health/", admin.site.admin_view(health_page), name="admin-health"),
    path("admin/identity/", admin.site.admin_view(identity_page), name="admin-identity"),
]
