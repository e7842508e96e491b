"""What the benches share: this checkout's code, Django, and scratch databases that clean up after themselves.

Every bench has a ``--smoke`` size that runs in seconds, on a scratch database of its own that it
drops when it is done; tests/bench runs each one against the real schema, so a migration that
breaks a bench fails the tests instead of the next person who wants the numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The public evaluation sets (see its README), kept beside the checkout, never inside it.
EVAL = ROOT.parent / "shared" / "eval"
# A few hand-written records in the same layout, for --smoke: enough to run every code path.
SMOKE_EVAL = ROOT / "bench" / "smoke_eval"
# --smoke answers with the model the tests use (`make test-model`), unless ENCLAVE_LLM_MODEL says otherwise.
SMOKE_LLM_MODEL = "smollm2-135m"


def add_eval_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--eval-dir", type=Path, default=EVAL, help=f"the public evaluation sets (default: {EVAL})")


def eval_dir(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """The sets to read: the smoke ones with --smoke, else --eval-dir, which must exist."""
    if args.smoke:
        return SMOKE_EVAL
    if not args.eval_dir.is_dir():
        parser.error(f"no evaluation sets at {args.eval_dir}: pass --eval-dir, or --smoke for the tiny built-in ones")
    return Path(args.eval_dir)


def this_checkout_first() -> None:
    """Import this checkout's code even when the virtualenv holds an editable install of another one."""
    if sys.path[0] != str(ROOT):
        sys.path.insert(0, str(ROOT))


def setup_django(database: str | None = None) -> None:
    """Django on the development database, or on ``database`` (of the same embedded server)."""
    this_checkout_first()
    if database:
        os.environ["ENCLAVE_DATABASE_NAME"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def smoke_answering_model() -> None:
    """Before setup_django (and inherited by a server it starts): answer with the small test model,
    locally, from one passage and in a few words, unless the environment says otherwise. The path
    is the same as a full answer's; a long prompt and answer only cost seconds on two cores."""
    os.environ.setdefault("ENCLAVE_LLM_MODEL", SMOKE_LLM_MODEL)
    os.environ.setdefault("ENCLAVE_ANSWER_PASSAGES", "1")
    os.environ.setdefault("ENCLAVE_ANSWER_MAX_TOKENS", "16")
    os.environ.pop("ENCLAVE_LLM_URL", None)


def data_dir() -> Path:
    """Where the embedded server keeps its data: settings' DATA_DIR once Django is set up, else var/."""
    from django.conf import settings

    return Path(settings.DATA_DIR) if settings.configured else ROOT / "var"


def server_connection(database: str = "postgres"):  # type: ignore[no-untyped-def]
    """An autocommit connection to ``database`` on the embedded server, as the role that owns the tables."""
    this_checkout_first()
    import psycopg

    from config import embedded_db

    host = embedded_db.ensure_running(data_dir())
    return psycopg.connect(host=host, dbname=database, user=embedded_db.OWNER_ROLE, autocommit=True)


def database_recreate(name: str) -> None:
    """An empty database ``name`` (dropped first if it exists): pgvector comes from template1."""
    with server_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {_identifier(name)}")
    print(f"scratch database {name}: created", file=sys.stderr, flush=True)


def database_drop(name: str) -> None:
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    with server_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
    print(f"scratch database {name}: dropped", file=sys.stderr, flush=True)


def database_migrate() -> None:
    """The real schema, built by the project's own migrations (as the owner role)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextmanager
def scratch_database(name: str) -> Iterator[None]:
    """Django on a new, migrated database ``name``, which is dropped on the way out, even after an error."""
    setup_django(name)
    database_recreate(name)
    try:
        database_migrate()
        yield
    finally:
        database_drop(name)


def _identifier(name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string()


@contextmanager
def model_defaults_in_database() -> Iterator[None]:
    """While loading rows with raw SQL: every NOT NULL column gets its Django field's default as a
    database default, dropped again afterwards, so the schema measured is the one `migrate` made.

    Django applies defaults in Python, so the tables have none, and an INSERT or COPY that names
    only the columns it cares about fails on the first NOT NULL column added later (as `paused`
    on sources once did). With this, a bench's raw SQL names only the columns it sets; a new
    column with a default needs nothing, and a new required column without one fails the bench's
    smoke run, naming the column. Only for the benches' own scratch databases.
    """
    from django.apps import apps
    from django.db import connections
    from django.db.models import NOT_PROVIDED

    defaulted: list[tuple[str, str]] = []
    with connections["owner"].schema_editor() as editor:
        for model in apps.get_models(include_auto_created=True):
            for field in model._meta.local_concrete_fields:
                if field.null or field.primary_key or field.db_default is not NOT_PROVIDED:
                    continue
                value = _database_default(editor, field)
                if value is None:
                    continue  # a value every row must be given: the bench's SQL has to name it
                table, column = editor.quote_name(model._meta.db_table), editor.quote_name(str(field.column))
                editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT %s", [value])
                defaulted.append((table, column))
    try:
        yield
    finally:
        with connections["owner"].schema_editor() as editor:
            for table, column in defaulted:
                editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")


def _database_default(editor: Any, field: Any) -> object | None:
    """The value Django writes for ``field`` when a row gives none (its default; "" for a text field
    that may be blank, Django's own rule when it adds such a column; the moment loading began for
    auto_now fields), ready for the database; None when every row must give one."""
    auto_now = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    blank_text = field.blank and field.empty_strings_allowed
    if getattr(field, "generated", False) or not (field.has_default() or blank_text or auto_now):
        return None
    return editor.effective_default(field)
