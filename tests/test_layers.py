"""Architecture rules that keep the visibility rule impossible to bypass by accident."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW_ACCESS = re.compile(r"\b(Document|Chunk|Citation|Conversation|Message)\.objects\b")
# Layers allowed to touch the managers: they take the requesting user, or are the rule itself.
ALLOWED = ("selectors.py", "permissions.py", "querysets.py", "models.py")


def project_modules() -> list[Path]:
    return [
        path
        for app in ("accounts", "knowledge", "assistant", "config")
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]


def test_only_selectors_and_services_touch_document_and_chunk_managers() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in project_modules()
        if path.name not in ALLOWED and "services" not in path.parts and "selectors" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if RAW_ACCESS.search(line)
    ]
    assert project_modules(), "the scan found no modules"
    assert offenders == []


def test_serving_pages_does_not_load_the_models() -> None:
    """Web processes import views and URLs at start-up; torch and llama.cpp must load only when used."""
    script = (
        "import django, os, sys;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup();"
        "import config.urls;"
        "heavy = sorted(m for m in ('torch', 'llama_cpp', 'sentence_transformers') if m in sys.modules);"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""
