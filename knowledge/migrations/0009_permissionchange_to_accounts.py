"""PermissionChange now lives in accounts (see accounts/migrations/0003): knowledge forgets the
model and leaves its table, knowledge_permissionchange, to accounts."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0008_source_sync_queued_at"),
        ("accounts", "0003_permissionchange_from_knowledge"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PermissionChange")],
            database_operations=[],
        ),
    ]
