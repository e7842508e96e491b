"""Privileges of the runtime database role, re-granted after every migration.

The owner role creates the tables; the runtime role (web, API, workers) gets plain DML on them and
nothing else, so it cannot alter tables, disable row-level security or rewrite the migration history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from psycopg import sql


def runtime_role() -> str:
    return str(settings.DATABASES["default"]["USER"])


def grant_runtime_role(*, using: str, **_: Any) -> None:
    role = runtime_role()
    connection = connections[using]
    if role == connection.settings_dict["USER"]:
        return  # a one-role deployment: nothing to grant (and no RLS; see deploy/README.md)
    ident = sql.Identifier(role).as_string()
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ident}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {ident}")
        cursor.execute(f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {ident}")
