"""A real Celery worker process for tests about the worker: on the embedded broker, on a queue of
its own, against the test database. The fixtures are plugged in by tests/conftest.py: `worker_queue`
sends this process's tasks to that queue, `worker` also starts a worker on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parents[1]
QUEUE = f"enclave-test-{os.getpid()}"


def start_worker(*, visibility_timeout: int = 3600, settings: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {
        **(settings or {}),
        **os.environ,
        "ENCLAVE_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "ENCLAVE_CELERY_QUEUE": QUEUE,
        "ENCLAVE_BROKER_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "ENCLAVE_BROKER_RESTORE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--pool", "solo"]
    command += ["-Q", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        worker.send_signal(sig)
        worker.wait(timeout=60)


@pytest.fixture
def worker_queue() -> Iterator[None]:
    """Keep this run's tasks away from any other worker on the same broker (a `make run`, say)."""
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = QUEUE
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)  # type: ignore[attr-defined]
    yield
    app.conf.task_default_queue = previous


@pytest.fixture
def worker(worker_queue: None) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker()
    yield process
    stop(process)


def wait_for(condition: Callable[[], bool], timeout: float = 180, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.3)
