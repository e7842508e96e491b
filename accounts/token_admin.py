"""API tokens in the admin console: every token with its owner, scopes, expiry and last use; revoke
them; create one for any user (shown once, on a page of its own, never stored or sent again)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.admin_access import KnowledgeAdminOnly
from accounts.console import console_user
from accounts.models import ApiToken, Scope, User
from accounts.tokens import TokenError, token_check, token_create, token_refusal, token_revoke


class TokenCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "expires_at"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, name, scopes = data.get("user"), data.get("name"), data.get("scopes")
        if isinstance(user, User) and name and scopes:
            try:
                token_check(user=user, name=name, scopes=scopes, expires_at=data.get("expires_at"))
            except TokenError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "scopes", "state", "created_at", "expires_at", "last_used_at")
    list_filter = ("revoked_at", "expires_at", "user")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    actions = ["revoke"]
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at", "state")

    @admin.display(description="State")
    def state(self, token: ApiToken) -> str:
        return token_refusal(token).removeprefix("The token ").rstrip(".") or "active"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TokenCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["user", "name", "scopes", "expires_at"]
        return ["user", "name", "scopes", "expires_at", *self.readonly_fields]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a token is never edited: revoke it and create another

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # revoked tokens stay listed, with when

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for token in active:
            token_revoke(token=token)
        self.message_user(request, f"Revoked {len(active)} token(s); they are refused from the next request.")

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        issued = token_create(
            user=obj.user,
            name=obj.name,
            scopes=form.cleaned_data["scopes"],
            expires_at=obj.expires_at,
            acting_user=console_user(request),
        )
        # The admin goes on with ``obj`` (the log entry, the response): make it the token created.
        obj.pk, obj.prefix, obj.created_at = issued.token.pk, issued.token.prefix, issued.token.created_at
        obj.scopes = issued.token.scopes
        obj._issued_secret = issued.secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "token": obj,
            "secret": obj._issued_secret,  # type: ignore[attr-defined]
            "now": timezone.now(),
        }
        response = TemplateResponse(request, "admin/accounts/apitoken/issued.html", context)
        response["Cache-Control"] = "no-store"  # the page holds a secret
        return response
