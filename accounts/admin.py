"""People in the admin console: users (role, groups, active), groups with their members, and the
trail of access changes. Roles, memberships and activation change through accounts/services.py,
which records each change in that trail, as the grant services do. (knowledge/user_admin.py adds
"what can this user see" to the user page.)"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from accounts.admin_access import KnowledgeAdminOnly
from accounts.console import ACCESS_APPLIES_NEXT_QUESTION, console_user, directory_edit_warning
from accounts.models import Origin, PermissionChange, Role, User
from accounts.services import (
    group_members_change,
    user_activation_set,
    user_groups_set,
    user_role_set,
    users_deactivate,
)


@admin.register(User)
class UserAdmin(KnowledgeAdminOnly, BaseUserAdmin):
    list_display = ("username", "email", "role", "is_active", "origin", "last_login")
    list_filter = ("role", "is_active", "origin", "groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("role", "is_active", "groups")}),
        ("Directory", {"fields": ("origin", "external_id", "directory_synced_at")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("origin", "external_id", "directory_synced_at", "last_login", "date_joined")
    filter_horizontal = ("groups",)
    actions = ["deactivate"]

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = users_deactivate(users=list(queryset), acting_user=console_user(request))
        self.message_user(request, f"Deactivated {count} user(s). {ACCESS_APPLIES_NEXT_QUESTION}")

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        """The role and active status change through their services (which record them); the form
        saves the rest. ``obj`` already holds the form's values, so they are set aside first."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        role, active = obj.role, obj.is_active
        saved = User.objects.only("role", "is_active").get(pk=obj.pk)
        obj.role, obj.is_active = saved.role, saved.is_active
        super().save_model(request, obj, form, change)
        acting_user = console_user(request)
        user_role_set(user=obj, role=Role(role), acting_user=acting_user)
        user_activation_set(user=obj, active=active, acting_user=acting_user)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        # Taken out of the form's data so its own m2m save (unrecorded) skips them: user_groups_set
        # saves the memberships instead, and records each one added or removed.
        groups = form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)
        regrouped = groups is not None and user_groups_set(
            user=form.instance, groups=groups, acting_user=console_user(request)
        )
        if regrouped or {"role", "is_active"} & set(form.changed_data):
            messages.info(request, ACCESS_APPLIES_NEXT_QUESTION)
            if form.instance.origin != Origin.LOCAL:
                messages.warning(request, directory_edit_warning(form.instance.get_origin_display()))


admin.site.unregister(Group)


class MembershipInline(KnowledgeAdminOnly, admin.TabularInline):
    model = User.groups.through
    fields = ("user",)
    autocomplete_fields = ("user",)
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "Members (changes apply from the next question)"


@admin.register(Group)
class GroupAdmin(KnowledgeAdminOnly, BaseGroupAdmin):
    filter_horizontal = ()
    fields = ("name", "comes_from")
    readonly_fields = ("comes_from",)
    list_display = ("name", "member_count", "comes_from")
    list_select_related = ("directory",)
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, group: Group) -> int:
        return group.user_set.count()

    @admin.display(description="Comes from")
    def comes_from(self, group: Group) -> str:
        mark = getattr(group, "directory", None)
        return mark.get_origin_display() if mark is not None else Origin.LOCAL.label

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        """The member rows posted become one group_members_change, which records each membership
        added or removed (an edited row is its old member out and its new one in)."""
        formset.save(commit=False)  # sorts the rows into new, changed and deleted; saves none
        edited = [membership for membership, _ in formset.changed_objects]
        previous = User.groups.through.objects.select_related("user").filter(pk__in=[m.pk for m in edited])
        group_members_change(
            group=form.instance,
            removed=[m.user for m in formset.deleted_objects] + [m.user for m in previous],
            added=[m.user for m in edited] + [m.user for m in formset.new_objects],
            acting_user=console_user(request),
        )
        if formset.has_changed():
            messages.info(request, ACCESS_APPLIES_NEXT_QUESTION)
            mark = getattr(form.instance, "directory", None)
            if mark is not None:
                messages.warning(request, directory_edit_warning(mark.get_origin_display()))


@admin.register(PermissionChange)
class PermissionChangeAdmin(KnowledgeAdminOnly, admin.ModelAdmin):
    """Read-only: the trail is evidence, so nobody edits or deletes it from the console."""

    list_display = ("changed_at", "changed_by_name", "action", "who", "what", "detail")
    list_filter = ("action", "changed_at")
    search_fields = ("changed_by_name", "who", "what")
    date_hierarchy = "changed_at"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


import accounts.scim.admin  # noqa: E402 - registers the SCIM tokens' admin (accounts/scim/admin.py)
import accounts.token_admin  # noqa: E402, F401 - registers the API tokens' admin (accounts/token_admin.py)
