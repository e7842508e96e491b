"""Questions per minute that one running Enclave answers: several people asking at once.

Each simulated person signs in through the login form and asks the demo questions one after the
other, reading every answer's stream to the end, as the page does. Run it against a server started
with the production settings (deploy/smoke.sh starts one; or `make run`):

    .venv/bin/python bench/throughput.py --url http://127.0.0.1:8000 --people 3 --questions 4
    .venv/bin/python bench/throughput.py --smoke    # starts its own server on a scratch database

With --smoke it needs no running server: it builds the demo people and corpus in a scratch database,
starts uvicorn (the production web server) on a free port against it, and has two people ask at
once: alice a question that SmolLM2 (`make test-model`) answers, charlie one that is refused without
the model (he may not see the salary bands); then it stops the server and drops the database.

Prints a table: answers, wall time, answers per minute, and latency percentiles by verdict.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import io
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from harness import ROOT, scratch_database, smoke_answering_model
from smoke import ask_and_read, demo_password, sign_in

SMOKE_DATABASE = "enclave_smoke_throughput"
SERVER_START_SECONDS = 90

# Distinct questions, so the model's prompt cache cannot answer a repeat in a fraction of a second.
QUESTIONS = {
    "alice": [
        "How many days of annual leave do I get?",
        "What is the salary band for an E2 engineer?",
        "What is the hotel cap in London?",
        "How much is the daily meal allowance when travelling?",
        "Is alcohol reimbursed on expense claims?",
        "Within how many days must expense claims be submitted?",
        "Can unused annual leave be carried over?",
        "Does sick leave need a doctor's note?",
    ],
    "bob": [
        "未使用的年假可以结转吗？",
        "每年有多少天年假？",
        "病假需要医生证明吗？",
        "What is the salary band for an E3 engineer?",
        "How many days of sick leave need no note?",
        "What is the salary range for E1?",
        "年假最多可以结转几天？",
        "Who approves salary changes?",
    ],
    "charlie": [
        "When is the office closed?",
        "What are the salary bands for engineers?",  # refused: charlie may not see them
        "公司什么时候放假？",
        "Is the office open on Friday?",
        "What is the hotel cap in Paris?",  # refused
        "Where are company notices published?",
        "When does the office reopen after the holidays?",
        "How many days of annual leave do I get?",  # refused
    ],
}


def person(url: str, user: str, password: str, questions: list[str]) -> list[tuple[str, float]]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    sign_in(opener, url, user, password)
    return [ask_and_read(opener, url, question) for question in questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--questions", type=int, default=4, help="questions each person asks, one after another")
    parser.add_argument("--smoke", action="store_true", help="a server of its own, two people, one question each")
    args = parser.parse_args()
    if args.smoke:
        with smoke_server() as (url, passwords):
            measure(url, [("alice", QUESTIONS["alice"][:1]), ("charlie", QUESTIONS["charlie"][1:2])], passwords)
    else:
        users = [list(QUESTIONS)[i % len(QUESTIONS)] for i in range(args.people)]
        passwords = {user: demo_password(user, None) for user in set(users)}
        measure(args.url, [(user, QUESTIONS[user][: args.questions]) for user in users], passwords)


def measure(url: str, people: list[tuple[str, list[str]]], passwords: dict[str, str]) -> None:
    """Each (user, questions) asks at the same time as the others, one question after another."""
    started = time.monotonic()
    with ThreadPoolExecutor(len(people)) as pool:
        futures = [pool.submit(person, url, user, passwords[user], questions) for user, questions in people]
        results = [result for future in futures for result in future.result()]
    wall = time.monotonic() - started
    print("| people at once | answers | wall s | answers/min | p50 s | p95 s |\n|---|---|---|---|---|---|")
    seconds = sorted(s for _, s in results)
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(
        f"| {len(people)} | {len(results)} | {wall:.0f} | {60 * len(results) / wall:.1f} | "
        f"{statistics.median(seconds):.1f} | {p95:.1f} |"
    )
    for verdict in sorted({v for v, _ in results}):
        times = [s for v, s in results if v == verdict]
        print(f"  {verdict}: {len(times)} answers, median {statistics.median(times):.1f} s")


@contextmanager
def smoke_server() -> Iterator[tuple[str, dict[str, str]]]:
    """The URL of a web server of this checkout on a scratch database with the demo world, and the
    demo people's passwords; the server is stopped and the database dropped afterwards."""
    smoke_answering_model()
    with scratch_database(SMOKE_DATABASE), tempfile.TemporaryDirectory() as folder:
        passwords = demo_world(Path(folder))
        port = free_port()
        with web_server(port, Path(folder) / "web.log"):
            yield f"http://127.0.0.1:{port}", passwords


def demo_world(folder: Path) -> dict[str, str]:
    """`demo_setup` in the scratch database; its passwords go to ``folder``, not to var/demo-users.txt
    (which keeps the development database's)."""
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(DATA_DIR=folder):
        call_command("demo_setup", stdout=io.StringIO())
    lines = (folder / "demo-users.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def web_server(port: int, log: Path) -> Iterator[None]:
    """uvicorn, as deploy/smoke.sh starts it, with this process's environment (so the scratch database)."""
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603 - fixed
    try:
        # The sign-in page, not /livez: it opens the process's first database connection, which
        # must not be two people's requests at once (embedded_db.ensure_running is not thread-safe).
        wait_until_alive(f"http://127.0.0.1:{port}/accounts/login/", server, log)
        yield
    except BaseException:
        print(f"--- the server's log ---\n{log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_alive(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}; its log: {log}")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - a fixed http:// URL
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {SERVER_START_SECONDS} s")


if __name__ == "__main__":
    main()
