"""What every page of the admin console shares: who is acting, and what it says after an access change."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User

ACCESS_APPLIES_NEXT_QUESTION = "Access changes apply from the next question anyone asks."


def console_user(request: HttpRequest) -> User | None:
    """The signed-in knowledge admin, as the services' ``acting_user`` (the console admits no one else)."""
    return request.user if isinstance(request.user, User) else None


def directory_edit_warning(origin_label: str) -> str:
    """Said after a local edit of what a directory owns: the directory will bring it back in line."""
    return (
        f"This comes from {origin_label}: the directory brings its groups and activation back in line at the "
        "next sign-in or provisioning request, so make lasting changes there."
    )
