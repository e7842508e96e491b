"""Who may use the admin console: knowledge admins (and superusers), for every model it shows."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import is_knowledge_admin


class KnowledgeAdminOnly:
    """Mix into a ModelAdmin or an inline: the role decides, not per-model permission rows."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_knowledge_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_knowledge_admin(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_knowledge_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_knowledge_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_knowledge_admin(request.user)
