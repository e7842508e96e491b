from django.urls import path

from accounts.api.views import MeView, TokenViewSet
from core.api.routers import ApiRouter

router = ApiRouter()
router.register("tokens", TokenViewSet, basename="api-token")

urlpatterns = [
    path("me", MeView.as_view(), name="api-me"),
    *router.urls,
]
