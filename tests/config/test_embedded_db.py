"""The embedded PostgreSQL: safe to start from several processes at once, and data survives a restart."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from config import embedded_db

CONNECT_AS_RUNTIME_ROLE = """
import sys
from pathlib import Path
import psycopg
from config import embedded_db
host = embedded_db.ensure_running(Path(sys.argv[1]))
with psycopg.connect(host=host, dbname="enclave", user="enclave_app") as conn:
    user, superuser = conn.execute("SELECT current_user, current_setting('is_superuser')").fetchone()
    print(user, superuser, host)
"""


def start_in_subprocesses(data_dir: Path, count: int) -> list[str]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONNECT_AS_RUNTIME_ROLE, str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    return [stdout.strip() for stdout, _ in outputs]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    embedded_db.stop(tmp_path)


def test_three_processes_starting_at_once_share_one_server(data_dir: Path) -> None:
    lines = start_in_subprocesses(data_dir, 3)
    assert len(set(lines)) == 1, lines
    user, superuser, _ = lines[0].split(" ")
    assert (user, superuser) == ("enclave_app", "off")


def test_data_survives_a_restart(data_dir: Path) -> None:
    host = start_in_subprocesses(data_dir, 1)[0].split(" ")[2]
    with psycopg.connect(host=host, dbname="enclave", user="enclave_owner", autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    embedded_db.stop(data_dir)
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()

    host = start_in_subprocesses(data_dir, 1)[0].split(" ")[2]
    with psycopg.connect(host=host, dbname="enclave", user="enclave_owner") as conn:
        assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]


SHOW_SHARED_BUFFERS = """
import sys
from pathlib import Path
import psycopg
from config import embedded_db
host = embedded_db.ensure_running(Path(sys.argv[1]), 64)
with psycopg.connect(host=host, dbname="enclave", user="enclave_owner") as conn:
    print(conn.execute("SHOW shared_buffers").fetchone()[0])
"""


def test_the_cache_size_applies_from_the_next_start(data_dir: Path) -> None:
    def shared_buffers() -> str:
        command = [sys.executable, "-c", SHOW_SHARED_BUFFERS, str(data_dir)]
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout.strip()

    assert shared_buffers() == "128MB"  # PostgreSQL's default, until the server restarts
    embedded_db.stop(data_dir)
    assert shared_buffers() == "64MB"


def test_a_pid_list_left_empty_by_a_killed_process_does_not_stop_the_next_start(data_dir: Path) -> None:
    start_in_subprocesses(data_dir, 1)
    (data_dir / "pgdata" / ".handle_pids.json").write_text("")  # killed in the middle of rewriting it
    user, superuser, _ = start_in_subprocesses(data_dir, 1)[0].split(" ")
    assert (user, superuser) == ("enclave_app", "off")
