"""The Celery application. Workers: `celery -A config worker`; schedules: `celery -A config beat`."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("enclave")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _start_embedded_broker(**_: object) -> None:
    """Started when the app first reads its configuration (the first task queued, a worker or beat
    starting), not when this module is imported: importing Django's settings starts nothing."""
    from django.conf import settings

    if settings.ENCLAVE_EMBEDDED_BROKER:
        from config import embedded_broker

        embedded_broker.ensure_running(Path(settings.DATA_DIR))


@worker_ready.connect
def _serve_worker_metrics(**_: object) -> None:
    """The worker's ingestion metrics on their own port, since a worker has no web server."""
    from django.conf import settings

    port = settings.ENCLAVE_WORKER_METRICS_PORT
    if port:
        from prometheus_client import start_http_server

        from config.metrics import scrape_registry

        start_http_server(port, registry=scrape_registry(with_knowledge=False))
