"""Documents' originals for readers who may see them."""

from django.urls import path

from knowledge.views import document_download

urlpatterns = [
    path("documents/<int:document_id>/download", document_download, name="document-download"),
]
