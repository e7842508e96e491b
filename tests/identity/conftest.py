"""A real OpenID Connect provider for the single sign-on tests: panva's oidc-provider (OpenID
certified), run by Node.js from tests/identity/oidc_provider/ (`make identity-servers` installs it).

The provider is started once per test session on a free localhost port, with a test client whose
redirect URI is the live server's, and signing keys made here, so a test can also sign tokens with
the provider's own key (a valid signature with a wrong issuer, an expired one) or with another key.
Its accounts are a JSON file that it reads at every sign-in: a test changes a person's groups at
the provider by rewriting it (``people_set``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from accounts.oidc import provider_metadata_forget

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "enclave-test"
CLIENT_SECRET = "test-client-secret-not-for-production"
KEY_ID = "test-provider-key-1"
PROVIDER_NAME = "Test IdP"


@dataclass
class ProviderPerson:
    """Someone with an account at the provider; ``claims`` is what it says about them."""

    sub: str
    login: str
    password: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class LocalProvider:
    issuer: str
    process: subprocess.Popen[bytes]
    accounts_file: Path
    signing_key: rsa.RSAPrivateKey
    log: Path

    def people_set(self, *people: ProviderPerson) -> None:
        """What the provider's directory holds from now on (it reads the file at every sign-in)."""
        rows = [{"sub": p.sub, "login": p.login, "password": p.password, "claims": p.claims} for p in people]
        partial = self.accounts_file.with_suffix(".tmp")
        partial.write_text(json.dumps(rows), encoding="utf-8")
        partial.replace(self.accounts_file)  # never a half-written file for the provider to read

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None, kid: str = KEY_ID) -> str:
        """An ID token signed with the provider's key (or another), as the provider would sign one."""
        return jwt.encode(claims, key or self.signing_key, algorithm="RS256", headers={"kid": kid})

    def id_token_claims(self, **changes: Any) -> dict[str, Any]:
        """The claims of a well-formed ID token for the test client; ``changes`` spoil it."""
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "sub-dana", "iat": now, "exp": now + 300, "nonce": "n1"}
        claims.update(changes)
        return claims


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _private_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    # PyJWT marks a private key for signing only (key_ops: ["sign"]); the provider verifies with it too.
    jwk.pop("key_ops", None)
    return {**jwk, "kid": KEY_ID, "alg": "RS256", "use": "sig"}


def _provider_config(issuer: str, enclave_url: str, key: rsa.RSAPrivateKey, accounts: Path) -> dict[str, Any]:
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "client_name": "Enclave (tests)",
        "redirect_uris": [f"{enclave_url}/accounts/oidc/callback/"],
        "post_logout_redirect_uris": [f"{enclave_url}/accounts/login/"],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }
    return {"issuer": issuer, "clients": [client], "jwks": {"keys": [_private_jwk(key)]},
            "accounts_file": str(accounts)}  # fmt: skip


def _wait_until_serving(provider: LocalProvider, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            pytest.fail(f"the test OIDC provider exited: {provider.log.read_text(encoding='utf-8')}")
        try:
            if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the test OIDC provider did not start in {seconds} s: {provider.log.read_text(encoding='utf-8')}")


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:  # type: ignore[no-untyped-def]
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("The test OIDC provider is not installed: `make identity-servers` (Node.js 20 and npm).")
    folder = tmp_path_factory.mktemp("oidc-provider")
    port = free_port()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = f"http://127.0.0.1:{port}"
    accounts, log = folder / "accounts.json", folder / "provider.log"
    accounts.write_text("[]", encoding="utf-8")
    config = folder / "config.json"
    config.write_text(json.dumps(_provider_config(issuer, live_server.url, key, accounts)), encoding="utf-8")
    with log.open("wb") as output:
        process = subprocess.Popen([node, str(PROVIDER_DIR / "server.mjs"), str(config)], stdout=output, stderr=output)
    provider = LocalProvider(issuer=issuer, process=process, accounts_file=accounts, signing_key=key, log=log)
    try:
        _wait_until_serving(provider)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def oidc_settings(settings, oidc_provider: LocalProvider) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Enclave set up for the test provider, as an administrator would from the README."""
    settings.ENCLAVE_OIDC_ISSUER = oidc_provider.issuer
    settings.ENCLAVE_OIDC_CLIENT_ID = CLIENT_ID
    settings.ENCLAVE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.ENCLAVE_OIDC_SCOPES = ["openid", "email", "profile", "groups"]
    settings.ENCLAVE_OIDC_PROVIDER_NAME = PROVIDER_NAME
    provider_metadata_forget()
    yield settings
    provider_metadata_forget()
    oidc_provider.people_set()
