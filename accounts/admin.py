from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group

from accounts.admin_access import KnowledgeAdminOnly
from accounts.models import User


@admin.register(User)
class UserAdmin(KnowledgeAdminOnly, BaseUserAdmin):
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active", "groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("role", "is_active", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ("groups",)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(KnowledgeAdminOnly, BaseGroupAdmin):
    filter_horizontal = ()
    fields = ("name",)
