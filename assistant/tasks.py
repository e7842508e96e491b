"""Celery tasks for the assistant. Services are imported inside the task (see knowledge/tasks.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def prune_question_log() -> int:
    from assistant.services.conversations import question_log_prune

    return question_log_prune()


@shared_task
def close_abandoned_answers() -> int:
    from assistant.services.conversations import answers_abandoned_close

    return answers_abandoned_close()
