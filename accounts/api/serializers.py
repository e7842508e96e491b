from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiToken, Role, Scope, User
from accounts.tokens import token_refusal
from core.api.strict import StrictTypes


class TokenSerializer(serializers.ModelSerializer[ApiToken]):
    active = serializers.SerializerMethodField(help_text="False once revoked or expired")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at", "active"]
        read_only_fields = fields

    def get_active(self, token: ApiToken) -> bool:
        return not token_refusal(token)


class TokenCreateSerializer(StrictTypes, serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="What the token is for, e.g. 'help desk'")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), min_length=1, max_length=len(Scope.choices)
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Empty: never expires")


class IssuedTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token itself. Shown this once: only its hash is kept.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer[User]):
    role = serializers.ChoiceField(choices=Role.choices)
    is_knowledge_admin = serializers.BooleanField()
    groups = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    token = serializers.SerializerMethodField(help_text="The token this call used; null for a signed-in session")

    class Meta:
        model = User
        fields = ["id", "username", "role", "is_knowledge_admin", "groups", "token"]
        read_only_fields = fields

    @extend_schema_field(TokenSerializer(allow_null=True))
    def get_token(self, user: User) -> dict | None:
        token = self.context["request"].auth
        return TokenSerializer(token).data if isinstance(token, ApiToken) else None
