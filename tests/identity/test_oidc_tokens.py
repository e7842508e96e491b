"""The ID token checks, against the real provider's published keys: Enclave's OIDC backend (the
library's verify_token, with Enclave's checks) accepts a token the provider could have issued for
this sign-in, and refuses one from another issuer, for another client, expired, signed by another
key or algorithm, or carrying another sign-in's nonce. The tokens are signed here with the
provider's own private key (or deliberately with another), and checked against its JWKS endpoint."""

from __future__ import annotations

import html
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from accounts.oidc import OIDCBackend, SignInRefused
from tests.identity.conftest import CLIENT_SECRET, LocalProvider


def verify(token: str, nonce: str = "n1") -> dict[str, Any]:
    payload: dict[str, Any] = OIDCBackend().verify_token(token, nonce=nonce)
    return payload


def test_a_token_the_provider_could_have_issued_for_this_sign_in_is_accepted(
    oidc_settings: Any, oidc_provider: LocalProvider
) -> None:
    payload = verify(oidc_provider.sign(oidc_provider.id_token_claims()))
    assert payload["sub"] == "sub-dana" and payload["iss"] == oidc_provider.issuer


@pytest.mark.parametrize(
    ("spoiled", "refusal"),
    [
        ({"iss": "https://evil.example.com"}, "was not issued by"),
        ({"aud": "another-app"}, "issued for another application"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "has expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "issued in the future"),
    ],
    ids=["wrong issuer", "wrong audience", "expired", "issued in the future"],
)
def test_a_token_signed_by_the_provider_but_not_for_this_sign_in_is_refused(
    oidc_settings: Any, oidc_provider: LocalProvider, spoiled: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(SignInRefused, match=refusal):
        verify(oidc_provider.sign(oidc_provider.id_token_claims(**spoiled)))


def test_a_token_signed_by_another_key_under_the_providers_key_id_is_refused(
    oidc_settings: Any, oidc_provider: LocalProvider
) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignInRefused, match="signature does not match"):
        verify(oidc_provider.sign(oidc_provider.id_token_claims(), key=forger))


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    oidc_settings: Any, oidc_provider: LocalProvider
) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignInRefused, match="does not publish"):
        verify(oidc_provider.sign(oidc_provider.id_token_claims(), key=forger, kid="forged-key"))


def test_a_token_signed_with_the_client_secret_instead_of_the_providers_key_is_refused(
    oidc_settings: Any, oidc_provider: LocalProvider
) -> None:
    # The algorithm-confusion attack: HS256 with a secret the client knows, hoping to be checked with it.
    token = jwt.encode(oidc_provider.id_token_claims(), CLIENT_SECRET, algorithm="HS256", headers={"kid": "x"})
    with pytest.raises(SignInRefused, match="Enclave expects RS256"):
        verify(token)


def test_unsigned_and_garbled_tokens_are_refused(oidc_settings: Any, oidc_provider: LocalProvider) -> None:
    unsigned = jwt.encode(oidc_provider.id_token_claims(), key="", algorithm="none")
    with pytest.raises(SignInRefused, match="Enclave expects RS256"):
        verify(unsigned)
    with pytest.raises(SignInRefused, match="not a signed token"):
        verify("not-a-token")


def test_a_token_with_another_sign_ins_nonce_is_refused(oidc_settings: Any, oidc_provider: LocalProvider) -> None:
    # A token replayed from an earlier sign-in carries that sign-in's nonce, not the one this browser holds.
    with pytest.raises(SuspiciousOperation, match="Nonce"):
        verify(oidc_provider.sign(oidc_provider.id_token_claims(nonce="an-earlier-sign-in")), nonce="n1")


def test_a_provider_that_names_another_issuer_is_refused_before_anyone_is_sent_there(
    oidc_settings: Any, oidc_provider: LocalProvider, db: None
) -> None:
    oidc_settings.ENCLAVE_OIDC_ISSUER = oidc_provider.issuer + "/"
    response = Client().get("/accounts/oidc/login/")
    assert response.status_code == 503
    page = html.unescape(response.content.decode())
    assert "Test IdP cannot be reached" in page
    assert f"says its issuer is '{oidc_provider.issuer}', not '{oidc_provider.issuer}/'" in page
