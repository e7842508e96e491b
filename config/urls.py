"""The root URLconf: it only composes the apps' own URLconfs."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Enclave admin console"
admin.site.site_title = "Enclave admin"
admin.site.index_title = "Knowledge, people and access"

urlpatterns = [
    path("", include("assistant.urls")),
    path("", include("knowledge.urls")),
    path("", include("config.probe_urls")),
    path("api/", include("config.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    path("scim/v2/", include("accounts.scim.urls")),
    path("admin/", admin.site.urls),
]
