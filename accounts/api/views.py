"""Who am I, and my API tokens (list, create, revoke)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import IssuedTokenSerializer, MeSerializer, TokenCreateSerializer, TokenSerializer
from accounts.models import ApiToken, User
from accounts.tokens import access_token_by_id, token_create, token_list, token_revoke
from core.api.base import ApiView, ApiViewSet


class MeView(ApiView):
    @extend_schema(responses=MeSerializer, summary="Who this call acts as")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user, context={"request": request}).data)


class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Your own tokens. Any scope may list, create and revoke them, but a token can only create
    tokens with its own scopes and expiry."""

    serializer_class = TokenSerializer
    ordering_fields = ["created_at", "last_used_at", "name"]
    ordering = ["-created_at"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        return token_list(fetched_by=self.request.user)  # type: ignore[arg-type]

    def get_object(self) -> ApiToken:
        return access_token_by_id(fetched_by=self.request.user, token_id=self.kwargs["pk"])  # type: ignore[arg-type]

    @extend_schema(request=TokenCreateSerializer, responses={201: IssuedTokenSerializer}, summary="Create a token")
    def create(self, request: Request) -> Response:
        given = TokenCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        issued = token_create(user=user, acting_user=user, created_with=parent, **given.validated_data)
        body = {**TokenSerializer(issued.token).data, "token": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Revoke a token")
    def destroy(self, request: Request, pk: str) -> Response:
        token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
