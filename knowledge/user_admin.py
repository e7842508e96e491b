"""The user page of the admin console, with "what can this user see" added: knowledge's concern (it
reads grants and sources through the visibility rule), so knowledge extends the accounts page
rather than accounts reaching up into knowledge."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin as AccountsUserAdmin
from accounts.models import User
from knowledge.selectors.access import user_access


class UserAdmin(AccountsUserAdmin):
    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        """The accounts page's fields, with the link to what this user can see last under "Access"."""
        return [
            (name, {**options, "fields": (*options["fields"], "what_they_see")} if name == "Access" else options)
            for name, options in super().get_fieldsets(request, obj)
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        return (*super().get_readonly_fields(request, obj), "what_they_see")

    @admin.display(description="What they can see")
    def what_they_see(self, user: User) -> str:
        if user.pk is None:
            return "-"
        url = reverse("admin:accounts_user_access", args=[user.pk])
        return format_html('<a href="{}">Every source and document this user can see, and why</a>', url)

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


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
