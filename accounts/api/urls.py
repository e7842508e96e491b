from django.urls import path

from accounts.api.views import MeView, TokenViewSet

urlpatterns = [
    path("me", MeView.as_view(), name="api-me"),
    path("tokens", TokenViewSet.as_view({"get": "list", "post": "create"}), name="api-tokens"),
    path("tokens/<int:pk>", TokenViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="api-token"),
]
