"""Admin console pieces shared by sources and documents: grant inlines whose saves go through the
grant services (so each change is recorded), the bulk "grant / revoke a group" actions, and a
deletion confirmation that counts what goes instead of listing every chunk."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.admin_access import KnowledgeAdminOnly
from accounts.console import ACCESS_APPLIES_NEXT_QUESTION, console_user
from knowledge.models import Document, Grant, Source
from knowledge.selectors.manage import access_grant_by_id
from knowledge.services.grants import grant_create, grant_revoke, group_grant_many, group_revoke_many


class GrantAccessInline(KnowledgeAdminOnly, admin.TabularInline):
    model = Grant
    fields = ("user", "group", "granted_by", "created_at")
    readonly_fields = ("granted_by", "created_at")
    autocomplete_fields = ("user", "group")
    extra = 1
    verbose_name = "grant"
    verbose_name_plural = "Who may see this (a user or a group per row; changes apply from the next question)"


def grant_formset_save(request: HttpRequest, formset: BaseInlineFormSet) -> None:
    """Save a grant inline through the services: each grant added or removed is recorded."""
    formset.save(commit=False)
    for grant in formset.deleted_objects:
        grant_revoke(grant=grant, acting_user=console_user(request))
    for grant, _ in formset.changed_objects:  # a row edited to someone else: one out, one in
        stored = access_grant_by_id(fetched_by=request.user, grant_id=grant.pk)
        grant_revoke(grant=stored, acting_user=console_user(request))
        _grant_like(grant, request)
    for grant in formset.new_objects:
        _grant_like(grant, request)


def _grant_like(grant: Grant, request: HttpRequest) -> None:
    by = console_user(request)
    grant_create(user=grant.user, group=grant.group, source=grant.source, document=grant.document, acting_user=by)


class GroupChoiceForm(forms.Form):
    group = forms.ModelChoiceField(queryset=Group.objects.order_by("name"), empty_label=None)


class GroupAccessActions:
    """Bulk actions: grant a group, or take a group's grants away, on the selected rows at once."""

    @admin.action(description="Grant a group access to the selected")
    def grant_group(self, request: HttpRequest, queryset: QuerySet[Any]) -> TemplateResponse | None:
        return _group_access(self, request, queryset, grant=True)

    @admin.action(description="Revoke a group's access to the selected")
    def revoke_group(self, request: HttpRequest, queryset: QuerySet[Any]) -> TemplateResponse | None:
        return _group_access(self, request, queryset, grant=False)


def _group_access(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[Any], *, grant: bool
) -> TemplateResponse | None:
    """First call: ask which group. Second call (the form posted back with "apply"): do it."""
    form = GroupChoiceForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        group = form.cleaned_data["group"]
        count = _apply_group_access(request, group, list(queryset), grant=grant)
        verb = "granted" if grant else "revoked"
        messages.success(request, f"{count} grant(s) {verb} for group {group.name}. {ACCESS_APPLIES_NEXT_QUESTION}")
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": ("Grant a group access to" if grant else "Revoke a group's access to")
        + f" {queryset.count()} item(s)",
        "opts": model_admin.model._meta,
        "objects": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "grant": grant,
    }
    return TemplateResponse(request, "admin/knowledge/group_access.html", context)


def _apply_group_access(request: HttpRequest, group: Group, targets: list[Model], *, grant: bool) -> int:
    by = console_user(request)
    sources = [t for t in targets if isinstance(t, Source)]
    documents = [t for t in targets if isinstance(t, Document)]
    if grant:
        return group_grant_many(group=group, sources=sources, documents=documents, acting_user=by)
    return group_revoke_many(group=group, sources=sources, documents=documents, acting_user=by)


class DeletionSummary:
    """Django's confirmation lists every object a deletion cascades to, which for a source means
    every chunk (thousands of lines, and slow). This one names what was selected and counts the rest."""

    model: type[Model]

    def deletion_counts(self, request: HttpRequest, ids: list[int]) -> dict[str, int]:
        raise NotImplementedError

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        objs = list(objs)
        opts = self.model._meta
        counts = self.deletion_counts(request, [obj.pk for obj in objs])
        named = [f"{str(opts.verbose_name).capitalize()}: {obj}" for obj in objs]
        counted = [f"{count} {what}" for what, count in counts.items() if count]
        return named + counted, {str(opts.verbose_name_plural): len(objs), **counts}, set(), []
