"""Ingest a folder into a source from the terminal, with a progress bar (no worker needed).

manage.py ingest /srv/policies --source "HR handbook" --grant-group hr
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.rls import acting_as_system
from knowledge.models import Document, Source, SyncRun
from knowledge.services.grants import grant_create
from knowledge.services.ingest import IngestResult, Outcome
from knowledge.services.sources import source_ensure, source_sync, source_update, sync_run_ingest_inline

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Add (or refresh) a folder source and ingest it here, showing progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, help="source name; created as a folder source if new")
        parser.add_argument("--grant-group", action="append", default=[], help="group to grant; repeatable")
        parser.add_argument("--all-staff", action="store_true", help="make the source visible to all staff")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"].expanduser().resolve()
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder")
        with acting_as_system():
            source = self._folder_source(options["source"], path, options["all_staff"])
            for name in options["grant_group"]:
                grant_create(group=Group.objects.get_or_create(name=name)[0], source=source)
        run = source_sync(source_id=source.pk, trigger=SyncRun.Trigger.COMMAND, enqueue=False)
        if run.error:
            raise CommandError(run.error)
        self.counts = dict.fromkeys(Outcome, 0)
        self.total = run.documents_total
        sync_run_ingest_inline(run, self._show_progress)
        self._summary(source)

    def _folder_source(self, name: str, path: Path, all_staff: bool) -> Source:
        config = {"path": str(path), "recursive": True}
        source = source_ensure(name=name, kind=Source.Kind.FOLDER, config=config, visible_to_all_staff=all_staff)
        if source.kind != Source.Kind.FOLDER:
            raise CommandError(f'"{name}" is an existing {source.get_kind_display().lower()} source, not a folder')
        if source.config.get("path") != str(path) or (all_staff and not source.visible_to_all_staff):
            config = {**source.config, "path": str(path)}
            visible = source.visible_to_all_staff or all_staff
            source_update(source=source, acting_user=None, config=config, visible_to_all_staff=visible)
        return source

    def _show_progress(self, document: Document, result: IngestResult) -> None:
        self.counts[result.outcome] += 1
        done = sum(self.counts.values())
        filled = BAR_WIDTH * done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {done}/{self.total} {document.uri[:40]:<40}", ending="")
        if result.outcome == Outcome.FAILED:
            self.stdout.write(f"\n  failed: {document.uri}: {result.reason}")
        self.stdout.flush()

    def _summary(self, source: Source) -> None:
        counts = self.counts
        self.stdout.write(
            f"\n{source.name}: {counts[Outcome.INGESTED]} ingested, {counts[Outcome.UNCHANGED]} unchanged, "
            f"{counts[Outcome.FAILED]} failed, {self.total} in all"
        )
