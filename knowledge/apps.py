from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        # Registers the tasks with the Celery app in every process, not only in workers, so that
        # services queueing them by name (knowledge/services/queue.py) get their options.
        import knowledge.tasks  # noqa: F401
        from knowledge.vector_index import vector_index_ensure

        post_migrate.connect(vector_index_ensure, sender=self, dispatch_uid="enclave-vector-index")
