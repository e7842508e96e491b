"""deploy/entrypoint.sh starts the right program, with the right flags, for each container role.

Docker does not run on these machines, so the script runs here as the image runs it. In the first
tests `uvicorn`, `celery` and `python` are stubs on PATH that report how they were started; the
script itself, bash and everything else are real. The last tests hand each role's command line to
the real uvicorn and celery (with --help), which reject any flag they do not have.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
# What the image sets in the environment of every role (compose: .env and secrets; Kubernetes:
# the ConfigMap and the Secret).
CONFIGURED = {
    "SECRET_KEY": "test",
    "DATABASE_URL": "postgresql://enclave_app:pw@db:5432/enclave",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
}
# A stub that prints how it was started as JSON: its name, arguments, working directory and pid.
REPORT = (
    "import json, os, sys; "
    'print(json.dumps({"program": os.path.basename(sys.argv[1]), "argv": sys.argv[2:], '
    '"cwd": os.getcwd(), "pid": os.getpid(), "metrics_dir": os.environ.get("PROMETHEUS_MULTIPROC_DIR")}))'
)
STUB = f"""#!/usr/bin/env bash
exec "{sys.executable}" -c '{REPORT}' "$0" "$@"
"""


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    for name in ("uvicorn", "celery", "python", "some-tool"):
        stub = tmp_path / name
        stub.write_text(STUB, encoding="utf-8")
        stub.chmod(0o755)
    return tmp_path


def run(stubs: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, str]:
    environment = {"PATH": f"{stubs}:/usr/bin:/bin", **(CONFIGURED if env is None else env)}
    process = subprocess.Popen(
        [str(ENTRYPOINT), *args], env=environment, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = process.communicate(timeout=30)
    return process, out, err


def started(stubs: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    process, out, err = run(stubs, *args, env=env)
    assert process.returncode == 0, err
    report: dict[str, object] = json.loads(out)
    # exec, not a child: the program is PID 1 of the container and receives SIGTERM itself.
    assert report["pid"] == process.pid
    assert report["cwd"] == str(ROOT)  # the app directory, wherever the container starts
    return report


def flag(argv: object, name: str) -> str:
    assert isinstance(argv, list)
    return str(argv[argv.index(name) + 1])


def test_web_serves_the_asgi_app_with_uvicorn_on_port_8000(stubs: Path) -> None:
    report = started(stubs, "web")
    argv = report["argv"]
    assert report["program"] == "uvicorn"
    assert isinstance(argv, list) and argv[0] == "config.asgi:application"
    assert (flag(argv, "--host"), flag(argv, "--port")) == ("0.0.0.0", "8000")  # noqa: S104 (inside the container)
    assert flag(argv, "--workers") == "1"  # one copy of the model per container
    assert "--proxy-headers" in argv and flag(argv, "--forwarded-allow-ips") == "*"
    assert flag(argv, "--lifespan") == "off"
    assert int(flag(argv, "--timeout-keep-alive")) > 60  # outlives the proxies' idle connections


def test_web_is_the_default_role(stubs: Path) -> None:
    assert started(stubs)["program"] == "uvicorn"


def test_web_reads_its_process_count_and_trusted_proxies(stubs: Path) -> None:
    env = {**CONFIGURED, "WEB_CONCURRENCY": "3", "FORWARDED_ALLOW_IPS": "10.0.0.0/8"}
    argv = started(stubs, "web", env=env)["argv"]
    assert (flag(argv, "--workers"), flag(argv, "--forwarded-allow-ips")) == ("3", "10.0.0.0/8")


def test_worker_consumes_the_configured_queue(stubs: Path) -> None:
    report = started(stubs, "worker")
    argv = report["argv"]
    assert report["program"] == "celery"
    assert argv[:3] == ["-A", "config.celery", "worker"]  # type: ignore[index]
    assert (flag(argv, "--concurrency"), flag(argv, "--queues"), flag(argv, "--loglevel")) == ("1", "enclave", "INFO")

    env = {**CONFIGURED, "CELERY_CONCURRENCY": "4", "ENCLAVE_CELERY_QUEUE": "ingest", "ENCLAVE_LOG_LEVEL": "DEBUG"}
    argv = started(stubs, "worker", env=env)["argv"]
    assert (flag(argv, "--concurrency"), flag(argv, "--queues"), flag(argv, "--loglevel")) == ("4", "ingest", "DEBUG")


def test_worker_metrics_add_up_the_pool_processes_in_a_fresh_folder(stubs: Path, tmp_path: Path) -> None:
    """The pool's child processes ingest; the parent serves the metrics port: prometheus_client's
    multiprocess mode joins them, from a folder cleared of an earlier start's files."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"stale")
    (folder / "notes.txt").write_text("not ours")
    report = started(stubs, "worker", env={**CONFIGURED, "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    assert report["metrics_dir"] == str(folder)
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_web_metrics_are_multiprocess_only_with_several_processes(stubs: Path) -> None:
    assert started(stubs, "web")["metrics_dir"] is None
    # Set but empty would still switch prometheus_client to multiprocess mode, writing nowhere.
    assert started(stubs, "web", env={**CONFIGURED, "PROMETHEUS_MULTIPROC_DIR": ""})["metrics_dir"] is None
    report = started(stubs, "web", env={**CONFIGURED, "WEB_CONCURRENCY": "2"})
    assert report["metrics_dir"] == "/tmp/prometheus-web" and Path("/tmp/prometheus-web").is_dir()  # noqa: S108


def test_beat_keeps_its_schedule_in_a_writable_place(stubs: Path) -> None:
    report = started(stubs, "beat")
    argv = report["argv"]
    assert report["program"] == "celery"
    assert argv[:3] == ["-A", "config.celery", "beat"]  # type: ignore[index]
    assert flag(argv, "--schedule").startswith("/tmp/")  # noqa: S108 (writable under a read-only root)


def test_migrate_applies_migrations_and_exits(stubs: Path) -> None:
    process, out, err = run(stubs, "migrate", env={**CONFIGURED, "ENCLAVE_DATABASE_OWNER_URL": "postgresql://o:p@db/e"})
    report = json.loads(out)
    assert process.returncode == 0
    assert (report["program"], report["argv"]) == ("python", ["manage.py", "migrate", "--no-input"])
    assert err == ""


def test_migrate_without_the_owner_role_warns_that_rls_will_not_apply(stubs: Path) -> None:
    process, _, err = run(stubs, "migrate")
    assert process.returncode == 0
    assert "ENCLAVE_DATABASE_OWNER_URL is not set" in err and "row-level security" in err


def test_arguments_after_a_role_reach_its_program(stubs: Path) -> None:
    argv = started(stubs, "worker", "--loglevel", "DEBUG", "--hostname", "ingest@%h")["argv"]
    assert argv[-4:] == ["--loglevel", "DEBUG", "--hostname", "ingest@%h"]  # type: ignore[index]


def test_management_commands_and_other_programs_pass_through(stubs: Path) -> None:
    report = started(stubs, "manage.py", "user_add", "dana", "--group", "hr")
    assert (report["program"], report["argv"]) == ("python", ["manage.py", "user_add", "dana", "--group", "hr"])
    report = started(stubs, "some-tool", "--flag", "two words")
    assert (report["program"], report["argv"]) == ("some-tool", ["--flag", "two words"])


NEEDED = [(role, name) for role in ("web", "worker", "beat") for name in CONFIGURED]
NEEDED += [("migrate", "SECRET_KEY"), ("migrate", "DATABASE_URL")]  # migrate does not use the broker


@pytest.mark.parametrize(("role", "missing"), NEEDED)
def test_a_role_refuses_to_start_without_its_settings(stubs: Path, role: str, missing: str) -> None:
    """Unset, settings would fall back to an embedded database or broker inside the container."""
    env = {name: value for name, value in CONFIGURED.items() if name != missing}
    process, out, err = run(stubs, role, env=env)
    assert process.returncode == 64 and out == ""
    assert f"the {role} role needs {missing} (or {missing}_FILE)" in err


def test_secrets_may_come_as_files(stubs: Path, tmp_path: Path) -> None:
    env = {f"{name}_FILE": str(tmp_path / name) for name in CONFIGURED}
    assert started(stubs, "web", env=env)["program"] == "uvicorn"


# --- The same command lines, checked by the real programs ---------------------------------------


def real_programs_env() -> dict[str, str]:
    # The venv's uvicorn/celery/python first: what the image's PATH (/opt/venv/bin) gives.
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, **CONFIGURED, "PATH": f"{venv_bin}:{os.environ['PATH']}"}


@pytest.mark.parametrize("role", ["web", "worker", "beat"])
def test_the_real_programs_accept_every_flag(role: str) -> None:
    # --help is handled after the command line is parsed, so a misspelt or removed flag fails here.
    result = subprocess.run(
        [str(ENTRYPOINT), role, "--help"], env=real_programs_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_the_real_programs_reject_a_flag_they_lack() -> None:
    """The check above can fail: an unknown flag is refused before --help is looked at."""
    result = subprocess.run(
        [str(ENTRYPOINT), "web", "--no-such-flag", "--help"],
        env=real_programs_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "No such option" in result.stderr
