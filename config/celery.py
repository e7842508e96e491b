"""The Celery application. Workers: `celery -A config worker`; schedules: `celery -A config beat`."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("enclave")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _start_embedded_broker() -> None:
    from django.conf import settings

    if settings.ENCLAVE_EMBEDDED_BROKER:
        from config import embedded_broker

        embedded_broker.ensure_running(Path(settings.DATA_DIR))


_start_embedded_broker()
