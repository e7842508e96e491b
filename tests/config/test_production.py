"""What an operator relies on in production: /readyz says when the database or the broker is down,
/metrics counts requests, answers and ingestion (and a worker serves its own), logs can be JSON, and
the production settings pass Django's deployment check and send plain HTTP to HTTPS."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from config.celery import app
from config.json_logs import JsonFormatter
from knowledge.models import Source
from tests.config.test_asgi_server import free_port
from tests.conftest import People
from tests.knowledge.helpers import LEAVE_POLICY, folder_source, sync_inline
from tests.worker import start_worker, stop, wait_for

ROOT = Path(__file__).resolve().parents[2]


def broker_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.conf, "broker_url", "redis+socket:///nonexistent/broker.sock")
    monkeypatch.setitem(app.conf, "broker_read_url", None)


@pytest.mark.django_db
def test_readyz_is_ready_with_the_database_and_broker_up() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


@pytest.mark.django_db
def test_readyz_fails_when_the_broker_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    broker_down(monkeypatch)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("broker unreachable")


def django_in_a_process(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run Django code in a fresh process with these settings (settings are read once, at start)."""
    script = "import django; django.setup()\n" + code
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_readyz_fails_when_the_database_is_down() -> None:
    done = django_in_a_process(
        "from django.test import Client\n"
        "r = Client().get('/readyz', HTTP_HOST='localhost')\n"
        "print(r.status_code, r.json()['database'])",
        DATABASE_URL="postgres://enclave_app:x@127.0.0.1:1/enclave",  # nothing listens on port 1
    )
    assert done.returncode == 0, done.stderr
    status, database = done.stdout.strip().split(" ", 1)
    assert status == "503" and database.startswith("unreachable")


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value from the Prometheus text format (0 when it is absent)."""
    for sample_name, sample_labels, value in re.findall(r"^(\w+)(?:\{(.*)\})? (\S+)$", text, flags=re.MULTILINE):
        if sample_name == name and dict(re.findall(r'(\w+)="([^"]*)"', sample_labels)) == labels:
            return float(value)
    return 0.0


@pytest.mark.django_db
def test_metrics_count_requests_and_ingestion_and_show_the_documents(people: People, tmp_path: Path) -> None:
    client = Client()
    before = client.get("/metrics").content.decode()
    client.get("/healthz")
    (tmp_path / "leave.md").write_text(LEAVE_POLICY)
    sync_inline(folder_source(tmp_path))
    after = client.get("/metrics").content.decode()
    healthz = {"method": "GET", "view": "healthz", "status": "200"}
    assert (
        metric(after, "enclave_http_requests_total", **healthz)
        == metric(before, "enclave_http_requests_total", **healthz) + 1
    )
    ingested = metric(after, "enclave_documents_ingested_total", outcome="ingested")
    assert ingested == metric(before, "enclave_documents_ingested_total", outcome="ingested") + 1
    assert metric(after, "enclave_documents", status="ready") == 1
    assert "enclave_task_queue_length " in after


@pytest.mark.django_db
def test_metrics_count_answers_by_how_they_ended(people: People, demo: dict[str, Source]) -> None:
    client = Client()
    before = metric(client.get("/metrics").content.decode(), "enclave_answer_seconds_count")
    bob = Client()
    bob.force_login(people.bob)
    started = bob.post("/chat/ask", {"question": "How many days of annual leave do I get?"}).json()
    b"".join(bob.get(started["stream"]).streaming_content)  # type: ignore[attr-defined]
    after = client.get("/metrics").content.decode()
    assert metric(after, "enclave_answer_seconds_count") == before + 1
    assert 'enclave_answers_total{channel="page"' in after


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_set(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_METRICS_TOKEN = "s3cret-metrics"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics").status_code == 200


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
@pytest.mark.usefixtures("worker_queue")
def test_a_worker_serves_its_ingestion_metrics_on_its_port(tmp_path: Path) -> None:
    port = free_port()
    worker = start_worker(settings={"ENCLAVE_WORKER_METRICS_PORT": str(port)})
    try:
        (tmp_path / "leave.md").write_text(LEAVE_POLICY)
        from knowledge.services.sources import source_sync

        source_sync(source_id=folder_source(tmp_path).pk)
        wait_for(
            lambda: metric(_scrape(port), "enclave_documents_ingested_total", outcome="ingested") == 1, 180, "ingestion"
        )
        assert metric(_scrape(port), "enclave_ingest_batch_seconds_count") == 1
    finally:
        stop(worker)


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def test_json_logs_are_one_object_a_line_with_chinese_kept() -> None:
    try:
        raise ValueError("损坏的文件")
    except ValueError:
        record = logging.LogRecord(
            "knowledge", logging.ERROR, __file__, 1, "文档 %s 失败", ("年假政策",), sys.exc_info()
        )
    record.document_id = 7
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "knowledge", "文档 年假政策 失败")
    assert entry["document_id"] == 7 and "损坏的文件" in entry["exception"]


PRODUCTION = {
    "ENCLAVE_DEBUG": "false",
    "SECRET_KEY": "a-production-key-" + "x" * 50,
    "ENCLAVE_ALLOWED_HOSTS": "enclave.example.com",
    "ENCLAVE_CSRF_TRUSTED_ORIGINS": "https://enclave.example.com",
    "ENCLAVE_BEHIND_TLS_PROXY": "true",
    "ENCLAVE_HSTS_SECONDS": "31536000",
    "ENCLAVE_LOG_FORMAT": "json",
}


def test_production_settings_pass_the_deployment_check() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_behind_a_tls_proxy_plain_http_goes_to_https_but_probes_do_not() -> None:
    done = django_in_a_process(
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='enclave.example.com')\n"
        "print(c.get('/accounts/login/').status_code, c.get('/accounts/login/').get('Location'))\n"
        "print(c.get('/accounts/login/', HTTP_X_FORWARDED_PROTO='https').status_code)\n"
        "print(c.get('/healthz').status_code)\n"
        "r = c.get('/accounts/login/', HTTP_X_FORWARDED_PROTO='https')\n"
        "print(r.cookies['csrftoken']['secure'], r.get('Strict-Transport-Security'))",
        **PRODUCTION,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "301 https://enclave.example.com/accounts/login/"
    assert lines[1] == "200" and lines[2] == "200"
    assert lines[3] == "True max-age=31536000"


def test_livez_answers_even_when_the_database_is_down() -> None:
    done = django_in_a_process(
        "from django.test import Client\n"
        "print(Client().get('/livez', HTTP_HOST='localhost').status_code,"
        " Client().get('/healthz', HTTP_HOST='localhost').status_code)",
        DATABASE_URL="postgres://enclave_app:x@127.0.0.1:1/enclave",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "503"]
