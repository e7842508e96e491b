"""What the health dashboard (and /readyz) report: the database, the task queue and its workers,
the knowledge counts, and which models this process has loaded. Each probe answers in words and
never raises, so one part being down never hides the others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import ChannelError

from assistant.selectors import question_count_since
from core.types import AnyUser

PING_SECONDS = 1.0


@dataclass(frozen=True)
class Probe:
    ok: bool
    text: str


def queue_probe() -> Probe:
    """How many tasks wait in the ingestion queue (the broker answering at all is the check)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        return Probe(True, f"{_waiting_in(queue)} task(s) waiting in {queue!r}")
    except Exception as exc:  # a refused connection, a bad URL, a timeout: all mean "not ready"
        return Probe(False, f"broker unreachable: {exc}")


def queue_length() -> int | None:
    """Tasks waiting in the ingestion queue; None when the broker cannot be asked."""
    try:
        return _waiting_in(settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception:
        return None


def _waiting_in(queue: str) -> int:
    from celery import current_app as app  # config.celery's app, made current by config/__init__.py

    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1)
        try:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)  # type: ignore[attr-defined]
        except ChannelError:  # Redis keeps no empty queues, so "no such queue" means none waiting
            return 0
        return int(declared.message_count)


def workers_probe() -> Probe:
    """Which Celery workers answer a ping within a second."""
    from celery import current_app as app  # config.celery's app, made current by config/__init__.py

    try:
        replies = app.control.ping(timeout=PING_SECONDS)
    except Exception as exc:
        return Probe(False, f"could not ask the workers: {exc}")
    names = sorted(name for reply in replies or [] for name in reply)
    if not names:
        return Probe(False, "no worker answered: documents will not be ingested")
    return Probe(True, f"{len(names)} alive: {', '.join(names)}")


def pgvector_version() -> str | None:
    """The installed pgvector's version, None if it is missing; DatabaseError if unreachable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def database_probe() -> Probe:
    try:
        version = pgvector_version()
    except DatabaseError as exc:
        return Probe(False, f"unreachable: {exc}".strip())
    if version is None:
        return Probe(False, "pgvector is not installed")
    return Probe(True, f"PostgreSQL with pgvector {version}")


def questions_last_day(*, fetched_by: AnyUser) -> int:
    return question_count_since(fetched_by=fetched_by, since=timezone.now() - timedelta(days=1))


def models_probe() -> list[Probe]:
    """The configured embedding and generation models, and whether this web process holds them."""
    from assistant.services.generation import local_generator_loaded
    from knowledge.services.embeddings import embedding_model_name, encoder_loaded

    loaded = "loaded in this process" if encoder_loaded() else "loads on the first question"
    embedding = Probe(True, f"embedding: {embedding_model_name()} ({loaded})")
    if settings.ENCLAVE_LLM_URL:
        return [embedding, Probe(True, f"generation: the server at {settings.ENCLAVE_LLM_URL}")]
    generation = f"generation: {settings.ENCLAVE_LLM_MODEL}"
    if local_generator_loaded():
        return [embedding, Probe(True, f"{generation} (loaded in this process)")]
    return [embedding, _model_file_probe(generation)]


def _model_file_probe(generation: str) -> Probe:
    from assistant.services.model_files import ModelFileError, model_path

    try:
        path = model_path()
    except ModelFileError as exc:
        return Probe(False, f"{generation}: {exc}")
    return Probe(True, f"{generation} ({path.stat().st_size / 1e6:.0f} MB file; loads on the first question)")
