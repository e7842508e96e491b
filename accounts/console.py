"""What every page of the admin console shares: who is acting, and what it says after an access change."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User

ACCESS_APPLIES_NEXT_QUESTION = "Access changes apply from the next question anyone asks."


def console_user(request: HttpRequest) -> User | None:
    """The signed-in knowledge admin, as the services' ``acting_user`` (the console admits no one else)."""
    return request.user if isinstance(request.user, User) else None
