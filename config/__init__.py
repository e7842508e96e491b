# The Celery app is created with Django's settings (Celery's documented Django layout), so that tasks
# declared with @shared_task and services that queue work by task name use it in every process.
from config.celery import app as celery_app

__all__ = ["celery_app"]
