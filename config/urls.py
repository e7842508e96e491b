from django.contrib import admin
from django.urls import include, path

from assistant.views import home
from config.views import healthz
from knowledge.views import search

admin.site.site_header = "Enclave admin console"
admin.site.site_title = "Enclave admin"
admin.site.index_title = "Knowledge, people and access"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("search", search, name="search"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
