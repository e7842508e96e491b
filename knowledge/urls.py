"""Documents' originals for readers who may see them, and the JSON search endpoint."""

from django.urls import path

from knowledge.views import document_download, search

urlpatterns = [
    path("documents/<int:document_id>/download", document_download, name="document-download"),
    path("search", search, name="search"),
]
