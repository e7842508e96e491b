"""Celery tasks for the assistant. Services are imported inside the task (see knowledge/tasks.py)."""

from __future__ import annotations

from config.celery import app


@app.task
def prune_question_log() -> int:
    from assistant.services.conversations import question_log_prune

    return question_log_prune()


@app.task
def close_abandoned_answers() -> int:
    from assistant.services.conversations import answers_abandoned_close

    return answers_abandoned_close()
