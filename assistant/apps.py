from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "assistant"
    verbose_name = "Assistant"

    def ready(self) -> None:
        import assistant.tasks  # noqa: F401  (registers the tasks in every process; see knowledge/apps.py)
