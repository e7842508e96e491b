from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from knowledge.vector_index import vector_index_ensure

        post_migrate.connect(vector_index_ensure, sender=self, dispatch_uid="enclave-vector-index")
