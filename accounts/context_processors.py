"""What every sign-in page needs to know (Enclave's own and the admin console's): whether single
sign-on is on, the provider's name for its button, and whether passwords are for admins only."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts.oidc import oidc_enabled, provider_name


def sign_in(request: HttpRequest) -> dict[str, object]:
    return {
        "single_sign_on": oidc_enabled(),
        "provider_name": provider_name(),
        "passwords_for_admins_only": settings.ENCLAVE_LOCAL_PASSWORDS == "admins-only",
    }
