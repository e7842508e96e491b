from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """The floor every app stands on (API base classes, errors, streaming, metrics, the database
    identity for row-level security), and the runtime database role's privileges after `migrate`."""

    name = "core"
    label = "core"
    verbose_name = "Enclave core"

    def ready(self) -> None:
        from core.db_roles import grant_runtime_role

        post_migrate.connect(grant_runtime_role, sender=self, dispatch_uid="enclave-grant-runtime-role")
