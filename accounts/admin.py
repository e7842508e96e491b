"""People in the admin console: users (role, groups, active), groups with their members, and
"what can this user see". Changes to roles, memberships and activation are recorded in the
permission audit trail, like grants."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.admin_access import KnowledgeAdminOnly
from accounts.models import User
from accounts.services import users_deactivate
from knowledge.admin_access import ACCESS_APPLIES_NEXT_QUESTION
from knowledge.selectors.access import user_access
from knowledge.services.permission_log import account_change_record, memberships_record


@admin.register(User)
class UserAdmin(KnowledgeAdminOnly, BaseUserAdmin):
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active", "groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("role", "is_active", "groups", "what_they_see")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined", "what_they_see")
    filter_horizontal = ("groups",)
    actions = ["deactivate"]

    @admin.display(description="What they can see")
    def what_they_see(self, user: User) -> str:
        if user.pk is None:
            return "-"
        url = reverse("admin:accounts_user_access", args=[user.pk])
        return format_html('<a href="{}">Every source and document this user can see, and why</a>', url)

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = users_deactivate(users=list(queryset), deactivated_by=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Deactivated {count} user(s). {ACCESS_APPLIES_NEXT_QUESTION}")

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        before = User.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is not None:
            account_change_record(changed_by=request.user, user=obj, before=before)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        groups_before = set(form.instance.groups.all()) if change else set()
        super().save_related(request, form, formsets, change)
        groups_after = set(form.instance.groups.all())
        added, removed = groups_after - groups_before, groups_before - groups_after
        memberships_record(changed_by=request.user, user=form.instance, added=list(added), removed=list(removed))
        if added or removed or {"role", "is_active"} & set(form.changed_data):
            messages.info(request, ACCESS_APPLIES_NEXT_QUESTION)

    def get_urls(self) -> list[URLPattern]:
        access = path(
            "<int:user_id>/access/", self.admin_site.admin_view(self.access_view), name="accounts_user_access"
        )
        return [access, *super().get_urls()]

    def access_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        user = self.get_object(request, str(user_id))
        if user is None:
            return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "person": user,
            "access": user_access(fetched_by=request.user, user=user),
            "title": f"What {user.get_username()} can see",
        }
        return TemplateResponse(request, "admin/accounts/user/access.html", context)


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
    fields = ("name",)
    list_display = ("name", "member_count")
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, group: Group) -> int:
        return group.user_set.count()

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        """Membership rows saved here are recorded one by one, as the user page records them."""
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            memberships_record(changed_by=request.user, user=membership.user, removed=[membership.group])
            membership.delete()
        for membership, _ in formset.changed_objects:
            previous = User.groups.through.objects.select_related("user", "group").get(pk=membership.pk)
            memberships_record(changed_by=request.user, user=previous.user, removed=[previous.group])
            membership.save()
            memberships_record(changed_by=request.user, user=membership.user, added=[membership.group])
        for membership in formset.new_objects:
            membership.save()
            memberships_record(changed_by=request.user, user=membership.user, added=[membership.group])
        if formset.has_changed():
            messages.info(request, ACCESS_APPLIES_NEXT_QUESTION)


import accounts.token_admin  # noqa: E402, F401 - registers the API tokens' admin (accounts/token_admin.py)
