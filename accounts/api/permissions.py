"""Who may call an endpoint at all. What they then see is decided by the selectors, as on the page:
a missing scope or role is a 403 (the caller knows who they are), an object they may not see a 404."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import ApiToken, Scope, is_knowledge_admin


class TokenScope(BasePermission):
    """A token must carry the view's ``required_scope``; a signed-in session acts with all of the
    user's own rights, as the page does."""

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = getattr(view, "required_scope", None)
        token = request.auth
        if scope is None or not isinstance(token, ApiToken) or scope in token.scopes:
            return True
        self.message = f"This token does not have the '{scope}' scope (it has: {', '.join(token.scopes)})."
        return False


class KnowledgeAdminOnly(BasePermission):
    message = "Only knowledge admins may use this endpoint."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_knowledge_admin(request.user)


ADMIN_SCOPE = Scope.ADMIN.value
