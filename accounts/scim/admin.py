"""SCIM tokens in the admin console: each with its last request and how it went; create one (shown
once, on a page of its own) and revoke them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin_access import KnowledgeAdminOnly
from accounts.console import console_user
from accounts.models import ScimToken
from accounts.scim.tokens import scim_token_create, scim_token_revoke


class ScimTokenCreateForm(forms.ModelForm):
    class Meta:
        model = ScimToken
        fields = ["name"]


@admin.register(ScimToken)
class ScimTokenAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    list_display = ("name", "prefix", "state", "created_at", "last_request_at", "last_request", "last_status")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    readonly_fields = (
        "prefix",
        "state",
        "created_by",
        "created_at",
        "revoked_at",
        "last_request_at",
        "last_request",
        "last_status",
        "last_result",
    )

    @admin.display(description="State")
    def state(self, token: ScimToken) -> str:
        return "revoked" if token.revoked_at else "active"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ScimTokenCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name"] if obj is None else ["name", *self.readonly_fields]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a token is never edited: revoke it and create another

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # revoked tokens stay listed, with when

    @admin.action(description="Revoke the selected SCIM tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ScimToken]) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for token in active:
            scim_token_revoke(token=token)
        self.message_user(
            request, f"Revoked {len(active)} SCIM token(s); the directory is refused from its next request."
        )

    def save_model(self, request: HttpRequest, obj: ScimToken, form: forms.ModelForm, change: bool) -> None:
        issued = scim_token_create(name=obj.name, acting_user=console_user(request))
        obj.pk, obj.prefix, obj.created_at = issued.token.pk, issued.token.prefix, issued.token.created_at
        obj._issued_secret = issued.secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ScimToken, post_url_continue: str | None = None) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "SCIM token created",
            "token": obj,
            "secret": obj._issued_secret,  # type: ignore[attr-defined]
            "scim_url": request.build_absolute_uri("/scim/v2/"),
        }
        response = TemplateResponse(request, "admin/accounts/scimtoken/issued.html", context)
        response["Cache-Control"] = "no-store"  # the page holds a secret
        return response
