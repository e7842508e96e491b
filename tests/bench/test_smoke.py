"""Every bench in bench/ runs at its --smoke size, as a person would run it: a process of its own,
this checkout's code, the real embedded database migrated from scratch, the small answering model.
A change to the schema or to a service that breaks a bench fails here, not months later when
someone wants the numbers again (retrieval_scale.py's INSERTs had stopped working that way).

Each run must exit 0, print its tables (header, separator, rows of the header's width), and leave
no scratch database behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from config import embedded_db

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 300  # far above a smoke run's time; only a hung run gets near it


@dataclass(frozen=True)
class Table:
    header: str  # how its header row starts
    rows: int  # at least this many rows under it


@dataclass(frozen=True)
class Bench:
    script: str
    database: str | None  # the scratch database its smoke run makes, and must drop (None: it needs none)
    tables: tuple[Table, ...]


BENCHES = [
    Bench("visibility_representation.py", "enclave_smoke_visibility", (Table("| representation | query ", 8),)),
    Bench("retrieval_scale.py", "enclave_smoke_scale", (Table("|    chunks | user sees |", 3),)),
    Bench("retrieval_quality.py", "enclave_smoke_quality", (Table("| set      | model ", 6),)),
    Bench("ingest.py", "enclave_smoke_ingest", (Table("| what ", 2),)),
    Bench(
        "answer.py",
        "enclave_smoke_answer",
        (
            Table("| threshold | answerable that reach the model |", 9),
            Table("| outcome | answerable (1) | unanswerable (1) |", 6),
            Table("| path | first token p50 s |", 2),
        ),
    ),
    Bench("throughput.py", "enclave_smoke_throughput", (Table("| people at once | answers |", 1),)),
    Bench("answer_quality.py", None, (Table("| language | condition | n | correct |", 4),)),
]


def run_smoke(script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENCLAVE_LLM_MODEL": "smollm2-135m", "PYTHONUNBUFFERED": "1"}
    for inherited in ("ENCLAVE_LLM_URL", "ENCLAVE_DATABASE_NAME"):
        env.pop(inherited, None)
    # A session of its own, so a hung run is ended together with any server it started.
    process = subprocess.Popen(
        [sys.executable, f"bench/{script}", "--smoke"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{script} --smoke did not finish in {RUN_SECONDS} s\n{stdout}\n{stderr[-4000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def printed_tables(stdout: str) -> list[list[str]]:
    """Runs of consecutive lines that start with "|" (Markdown tables, as the benches print them)."""
    tables: list[list[str]] = []
    previous_was_row = False
    for line in stdout.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous_was_row:
            tables.append([])
        if is_row:
            tables[-1].append(line)
        previous_was_row = is_row
    return tables


def cells(row: str) -> int:
    return row.strip().strip("|").count("|") + 1


def database_exists(name: str) -> bool:
    host = embedded_db.ensure_running(Path(settings.DATA_DIR))
    with psycopg.connect(host=host, dbname="postgres", user=embedded_db.OWNER_ROLE, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


@pytest.mark.parametrize("bench", BENCHES, ids=[bench.script for bench in BENCHES])
def test_bench_runs_at_its_smoke_size(bench: Bench) -> None:
    demo_passwords = Path(settings.DATA_DIR) / "demo-users.txt"
    passwords_before = demo_passwords.read_bytes() if demo_passwords.exists() else None
    result = run_smoke(bench.script)
    assert result.returncode == 0, f"exit code {result.returncode}\n{result.stdout}\n{result.stderr[-6000:]}"

    tables = printed_tables(result.stdout)
    assert len(tables) == len(bench.tables), result.stdout
    for expected, (header, separator, *rows) in zip(bench.tables, tables, strict=True):
        assert header.startswith(expected.header), header
        assert set(separator) <= set("|-: "), separator
        assert len(rows) >= expected.rows, result.stdout
        assert all(cells(row) == cells(header) for row in rows), result.stdout

    # Its own scratch database (not the development or the test one), gone afterwards.
    if bench.database is not None:
        assert f"scratch database {bench.database}: created" in result.stderr
        assert f"scratch database {bench.database}: dropped" in result.stderr
        assert not database_exists(bench.database)
    # The smoke runs build their own demo people: the development sign-ins stay as they were.
    assert (demo_passwords.read_bytes() if demo_passwords.exists() else None) == passwords_before
