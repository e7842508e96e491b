"""The audit trail of access changes moves from knowledge to accounts (it records memberships, roles
and activation as well as grants, and knowledge may depend on accounts, not the reverse).

Only Django's idea of the model moves: the table keeps its name, knowledge_permissionchange, so no
row is copied. knowledge's 0009 then forgets the model. The content type is relabelled so the
permissions and admin history attached to it follow the model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def _relabel(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor, old: str, new: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    # A fresh database has none yet (post_migrate creates them); one migrated part-way may have both.
    if not content_types.filter(app_label=new, model="permissionchange").exists():
        content_types.filter(app_label=old, model="permissionchange").update(app_label=new)


def content_type_to_accounts(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _relabel(apps, schema_editor, "knowledge", "accounts")


def content_type_to_knowledge(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _relabel(apps, schema_editor, "accounts", "knowledge")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_tokens"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("knowledge", "0008_source_sync_queued_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PermissionChange",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("changed_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("changed_by_name", models.CharField(blank=True, max_length=150)),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("grant_added", "Grant added"),
                                    ("grant_removed", "Grant removed"),
                                    ("all_staff_on", "Made visible to all staff"),
                                    ("all_staff_off", "No longer visible to all staff"),
                                    ("member_added", "Added to group"),
                                    ("member_removed", "Removed from group"),
                                    ("role_changed", "Role changed"),
                                    ("user_activated", "User activated"),
                                    ("user_deactivated", "User deactivated"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("who", models.CharField(help_text="The user or group whose access changed", max_length=300)),
                        (
                            "what",
                            models.CharField(
                                blank=True, help_text="The source, document or group concerned", max_length=600
                            ),
                        ),
                        ("detail", models.CharField(blank=True, max_length=300)),
                        (
                            "changed_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "knowledge_permissionchange",
                        "ordering": ["-changed_at", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_accounts, content_type_to_knowledge),
    ]
