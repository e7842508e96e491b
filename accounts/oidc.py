"""Single sign-on with OpenID Connect: the authorization code flow with PKCE, and RP-initiated logout.

Built on mozilla-django-oidc (5.0.2, supports Django 4.2 to 5.2), chosen over the alternatives:

- It is a Django authentication backend and three views, and nothing more: a sign-in ends in
  Django's own ``auth.login``, so sessions, the admin console, ``login_required`` and row-level
  security work as they do for a password. Its hooks (``get_or_create_user``, ``verify_claims``)
  are exactly where the claims are handed to ``accounts/directory.py``.
- It does the protocol's bookkeeping that is easy to get wrong: a fresh ``state``, ``nonce`` and
  PKCE ``code_verifier`` per sign-in, kept in the session and deleted at first use (a replayed
  callback is refused); the code exchange; the JWKS lookup; RP-initiated logout through
  ``OIDC_OP_LOGOUT_URL_METHOD``.
- django-allauth would bring a second account system (its own tables, e-mail flows and pages)
  beside Enclave's directory services; authlib is a protocol toolkit that would leave the views,
  state and session handling to be written here.

What Enclave adds to it, here:

- **Discovery.** The library wants each endpoint as a setting; Enclave is given only the issuer
  and reads the rest from ``{issuer}/.well-known/openid-configuration``, fetched at the first
  sign-in (never at start-up, so a provider that is down does not stop Enclave) and kept.
- **A complete check of the ID token.** The library checks the signature, expiry and nonce but not
  who issued the token nor for whom (it decodes with ``verify_aud`` off); ``get_payload_data``
  checks ``iss``, ``aud``, ``exp`` and ``iat`` too, and says in words why a token is refused.
- **Claims to a DirectoryPerson.** The person's ``sub`` is their directory id; the username,
  e-mail, name and groups come from the claims that the ENCLAVE_OIDC_* settings name, and
  ``directory_person_sync`` creates or updates the user and brings their groups in line. Nothing
  here writes users or groups itself.
- **Settings from ENCLAVE_OIDC_*.** The library's own setting names are answered by
  ``library_setting`` at each call (``_library_settings`` is the one mapping), so there is one
  name per setting and a test can change it with Django's ``settings``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.shortcuts import resolve_url
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from accounts.claims import GroupFilter, claim_text, claim_texts
from accounts.directory import DirectoryPerson, directory_person_sync
from accounts.models import Origin, User
from core.errors import EnclaveError

logger = logging.getLogger(__name__)

# Leeway for the clocks of Enclave and the provider, in seconds, when checking exp and iat.
CLOCK_SKEW_SECONDS = 60
NAME_LIMIT = 150  # Django's usernames and group names


class ProviderUnavailable(EnclaveError):
    """The identity provider cannot be reached, or does not describe itself as an OIDC provider."""

    code = "provider_unavailable"
    http_status = 503


class SignInRefused(EnclaveError):
    """The provider answered, but what it said does not sign this person in."""

    code = "sign_in_refused"
    http_status = 403


def oidc_enabled() -> bool:
    return bool(settings.ENCLAVE_OIDC_ISSUER)


def provider_name() -> str:
    return str(settings.ENCLAVE_OIDC_PROVIDER_NAME)


# --- Discovery ------------------------------------------------------------------------------------

_discovered: dict[str, dict[str, Any]] = {}
_discovery_lock = threading.Lock()


def provider_metadata() -> dict[str, Any]:
    """The provider's discovery document: fetched at first use, then kept for the process's life.

    A failure is not kept, so the next sign-in tries again once the provider is back.
    """
    issuer = settings.ENCLAVE_OIDC_ISSUER
    known = _discovered.get(issuer)
    if known is not None:
        return known
    with _discovery_lock:  # one fetch, however many sign-ins start at once
        if issuer not in _discovered:
            _discovered[issuer] = _discover(issuer)
        return _discovered[issuer]


def provider_discover() -> dict[str, Any]:
    """The provider's discovery document fetched now, not the kept one: whether it answers today."""
    return _discover(settings.ENCLAVE_OIDC_ISSUER)


def provider_metadata_forget() -> None:
    """Drop the kept discovery documents (a test's provider on a new port, say)."""
    _discovered.clear()


def _discover(issuer: str) -> dict[str, Any]:
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.ENCLAVE_OIDC_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except requests.HTTPError as exc:
        raise ProviderUnavailable(f"{url} answered HTTP {response.status_code}.") from exc
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"{url} did not answer ({_network_reason(exc)}).") from exc
    except ValueError as exc:
        raise ProviderUnavailable(f"{url} did not answer with a JSON discovery document.") from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} did not answer with a JSON discovery document.")
    if document.get("issuer") != issuer:
        # OpenID Connect Discovery 1.0, section 4.3: the issuer must be exactly the one asked for.
        raise ProviderUnavailable(
            f"{url} says its issuer is {document.get('issuer')!r}, not {issuer!r} as ENCLAVE_OIDC_ISSUER says."
        )
    missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(key)]
    if missing:
        raise ProviderUnavailable(f"{url} names no {', '.join(missing)}.")
    return document


def _network_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {settings.ENCLAVE_OIDC_TIMEOUT_SECONDS} seconds"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed"
    return type(exc).__name__


# --- The library's settings -----------------------------------------------------------------------


def _library_settings() -> dict[str, Any]:
    """mozilla-django-oidc's setting names, answered from Enclave's (and a few fixed choices)."""
    return {
        "OIDC_RP_CLIENT_ID": settings.ENCLAVE_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.ENCLAVE_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": " ".join(settings.ENCLAVE_OIDC_SCOPES),
        "OIDC_RP_SIGN_ALGO": settings.ENCLAVE_OIDC_SIGN_ALGO,
        "OIDC_TOKEN_USE_BASIC_AUTH": settings.ENCLAVE_OIDC_CLIENT_AUTH == "client_secret_basic",
        "OIDC_TIMEOUT": settings.ENCLAVE_OIDC_TIMEOUT_SECONDS,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        "OIDC_VERIFY_SSL": True,
        "OIDC_CREATE_USER": True,
        # The id_token_hint that RP-initiated logout sends back to the provider.
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc-callback",
        "OIDC_OP_LOGOUT_URL_METHOD": "accounts.oidc.provider_logout_url",
    }


def library_setting(name: str, *default: Any) -> Any:
    """The ``get_settings`` of Enclave's subclasses of the library's backend and views."""
    answers = _library_settings()
    if name in answers:
        return answers[name]
    return import_from_settings(name, *default)


# --- The backend ----------------------------------------------------------------------------------


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs a person in from the provider's ID token and userinfo, through the directory services."""

    get_settings = staticmethod(library_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads every endpoint here, but Django builds a backend for each request that
        # loads a signed-in user: the endpoints are looked up only when a sign-in needs them.
        self.UserModel = get_user_model()

    # The library's attributes, answered when read.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # the library's name
        return str(provider_metadata()["token_endpoint"])

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str | None:
        return provider_metadata().get("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return str(provider_metadata()["jwks_uri"])

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return str(settings.ENCLAVE_OIDC_CLIENT_ID)

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return str(settings.ENCLAVE_OIDC_CLIENT_SECRET)

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return str(settings.ENCLAVE_OIDC_SIGN_ALGO)

    OIDC_RP_IDP_SIGN_KEY = None  # the keys are always the provider's published ones (its jwks_uri)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the library's return view asks with a nonce. Django asks every backend in turn, so
        # without this a password form posted to a URL carrying ?code=&state= would start a code
        # exchange, one that no state in the session vouches for.
        if not oidc_enabled() or "nonce" not in kwargs:
            return None
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def get_user(self, user_id: int) -> User | None:
        # Django's own: a deactivated person's session loads nobody (the library's would load them).
        user = ModelBackend.get_user(self, user_id)
        return user if isinstance(user, User) else None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise SignInRefused("The provider's ID token is not a signed token.") from exc
        algorithm = self.OIDC_RP_SIGN_ALGO
        if header.get("alg") != algorithm:
            raise SignInRefused(
                f"The provider signed the ID token with {header.get('alg')!r}; Enclave expects {algorithm} "
                "(ENCLAVE_OIDC_SIGN_ALGO)."
            )
        if not header.get("kid"):
            raise SignInRefused("The provider's ID token does not say which of its keys signed it (no 'kid').")
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        return payload

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        try:
            return super().retrieve_matching_jwk(token)
        except SuspiciousOperation as exc:
            raise SignInRefused("The ID token was signed with a key that the provider does not publish.") from exc

    def get_payload_data(self, token: str, key: Any) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and times all check out."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.ENCLAVE_OIDC_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused("The provider's ID token has expired; please sign in again.") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(
                f"The ID token was not issued by {settings.ENCLAVE_OIDC_ISSUER} (ENCLAVE_OIDC_ISSUER)."
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused("The ID token was issued for another application, not for this Enclave.") from exc
        except jwt.InvalidSignatureError as exc:
            raise SignInRefused("The ID token's signature does not match the provider's key.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise SignInRefused("The ID token says it was issued in the future; check the clocks.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise SignInRefused(f"The ID token has no '{exc.claim}' claim.") from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(f"The provider's ID token could not be read ({exc}).") from exc
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims, with the provider's userinfo answer on top (where groups often are)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            # OpenID Connect Core 1.0, 5.3.2: userinfo about another subject must not be used.
            if userinfo.get("sub") != payload.get("sub"):
                raise SignInRefused("The provider's userinfo answer is about someone other than its ID token.")
            claims.update(userinfo)
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        """Hand the person to the directory services, which find, create or update them.

        One call replaces the library's filter_users_by_claims / create_user / update_user split:
        directory_person_sync already finds the person by their ``sub`` (then their username), so
        splitting it would look them up twice, by two rules.
        """
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SignInRefused("The provider's answer names nobody (it has no 'sub' claim).")
        return directory_person_sync(person_from_claims(claims))


def person_from_claims(claims: dict[str, Any]) -> DirectoryPerson:
    """The person the claims describe, as the ENCLAVE_OIDC_* settings read them."""
    username_claim = settings.ENCLAVE_OIDC_USERNAME_CLAIM
    username = claim_text(claims, username_claim)
    if not username:
        raise SignInRefused(
            f"The provider sent no '{username_claim}' claim to name you by in Enclave "
            "(an administrator can choose another with ENCLAVE_OIDC_USERNAME_CLAIM)."
        )
    if len(username) > NAME_LIMIT:
        raise SignInRefused(f"The provider's '{username_claim}' is longer than {NAME_LIMIT} characters.")
    first_name, last_name = _names(claims)
    return DirectoryPerson(
        origin=Origin.OIDC,
        external_id=str(claims["sub"]),
        username=username,
        email=claim_text(claims, settings.ENCLAVE_OIDC_EMAIL_CLAIM),
        first_name=first_name,
        last_name=last_name,
        groups=_groups(claims),
        knowledge_admin=_is_knowledge_admin(claims),
    )


def _names(claims: dict[str, Any]) -> tuple[str, str]:
    """Given and family name where the provider sends them, else the display name as one."""
    given, family = claim_text(claims, "given_name"), claim_text(claims, "family_name")
    if given or family:
        return given[:NAME_LIMIT], family[:NAME_LIMIT]
    return claim_text(claims, settings.ENCLAVE_OIDC_NAME_CLAIM)[:NAME_LIMIT], ""


def _groups(claims: dict[str, Any]) -> list[str] | None:
    """The provider's groups that Enclave takes in; None when no groups claim is configured.

    A configured claim that is absent means no groups: Okta, for one, leaves the claim out when
    none of the person's groups passes its filter.
    """
    claim = settings.ENCLAVE_OIDC_GROUPS_CLAIM
    if not claim:
        return None
    wanted = GroupFilter.parse(settings.ENCLAVE_OIDC_GROUPS)
    names = [name for name in claim_texts(claims, claim) if wanted.admits(name)]
    too_long = [name for name in names if len(name) > NAME_LIMIT]
    if too_long:
        logger.warning("OIDC groups longer than %s characters are ignored: %s", NAME_LIMIT, too_long)
    return [name for name in names if len(name) <= NAME_LIMIT]


def _is_knowledge_admin(claims: dict[str, Any]) -> bool | None:
    admin_groups = set(settings.ENCLAVE_OIDC_ADMIN_GROUPS)
    if not admin_groups:
        return None
    claim = settings.ENCLAVE_OIDC_ADMIN_CLAIM or settings.ENCLAVE_OIDC_GROUPS_CLAIM
    return bool(admin_groups & set(claim_texts(claims, claim)))


# --- Signing out ----------------------------------------------------------------------------------


def provider_logout_url(request: HttpRequest) -> str:
    """Where signing out goes: the provider's end_session_endpoint, so its session ends too, and back.

    Only for a session that single sign-on began (it holds the ID token as id_token_hint) and a
    provider that has the endpoint (Google has none); otherwise straight to Enclave's sign-in page.
    """
    back = resolve_url(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not (oidc_enabled() and id_token):
        return back
    try:
        end_session = provider_metadata().get("end_session_endpoint")
    except ProviderUnavailable:
        return back  # Enclave's own session still ends
    if not end_session:
        return back
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(back),
            "client_id": settings.ENCLAVE_OIDC_CLIENT_ID,
        }
    )
    return f"{end_session}{'&' if '?' in end_session else '?'}{query}"
