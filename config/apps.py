from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """Project plumbing that is no feature of its own: database roles, health, `migrate`."""

    name = "config"
    label = "core"
    verbose_name = "Enclave core"

    def ready(self) -> None:
        from config.db_roles import grant_runtime_role

        post_migrate.connect(grant_runtime_role, sender=self, dispatch_uid="enclave-grant-runtime-role")
