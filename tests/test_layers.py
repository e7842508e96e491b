"""Architecture rules that keep the visibility rule impossible to bypass by accident.

Zulip's custom lint rules are the model: each rule is a pattern with lines it must catch and lines
it must let through, and both lists are tested, so a rule that stops matching fails here instead
of silently letting every line through. The layer contracts themselves (which app may import
which) are import-linter's, in pyproject.toml.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = r"(?:Document|Chunk|Source|Grant|SyncRun|Citation|Conversation|Message|QuestionLog|Feedback|PermissionChange)"
RELATED = r"(?:documents|chunks|grants|knowledge_grants|sync_runs|messages|citations|conversations|feedback)"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    bad: tuple[str, ...]  # lines the rule must catch
    good: tuple[str, ...]  # lines it must let through


RULES = (
    Rule(
        "a model's manager",
        re.compile(rf"\b{MODELS}\.objects\b"),
        bad=("docs = Document.objects.filter(pk=1)", "Grant.objects.get(pk=grant.pk)", "QuestionLog.objects.count()"),
        good=("docs = document_list(fetched_by=request.user)", "User.objects.filter(is_active=True)"),
    ),
    Rule(
        "a related manager of a knowledge or assistant row",
        re.compile(
            rf"\.{RELATED}\.(?:all|filter|get|exclude|create|count|update|delete|values|values_list|order_by|"
            r"select_related|prefetch_related|first|last|exists|annotate|aggregate|in_bulk)\("
        ),
        bad=("document.chunks.order_by('ordinal')", "source.documents.all()", "user.knowledge_grants.filter(x=1)"),
        good=("chunk_list(fetched_by=user, document_id=document.pk)", "user.groups.all()", "self.documents"),
    ),
    Rule(
        "the admin's own queryset, which reads every row",
        re.compile(r"super\(\)\.get_queryset\("),
        bad=("return super().get_queryset(request).annotate(n=Count('chunks'))",),
        good=("return document_console_list(fetched_by=request.user)", "super().get_object(request, object_id)"),
    ),
)

# Where reads and writes are allowed to reach the managers: they take the requesting user (or are
# the system's own work), or are the rule and the models themselves.
ALLOWED_FOLDERS = ("selectors", "services", "migrations", "parsing")
ALLOWED_MODULES = (
    "selectors.py",
    "services.py",
    "audit.py",
    "tokens.py",
    "permissions.py",
    "querysets.py",
    "models.py",
)


def project_modules() -> list[Path]:
    return [
        path for app in ("core", "accounts", "knowledge", "assistant", "config") for path in (ROOT / app).rglob("*.py")
    ]


def checked_modules() -> list[Path]:
    return [
        path
        for path in project_modules()
        if path.name not in ALLOWED_MODULES and not set(ALLOWED_FOLDERS) & set(path.relative_to(ROOT).parts)
    ]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_each_rule_catches_its_bad_lines_and_passes_its_good_ones(rule: Rule) -> None:
    assert [line for line in rule.bad if not rule.pattern.search(line)] == []
    assert [line for line in rule.good if rule.pattern.search(line)] == []


def test_only_selectors_and_services_read_or_write_knowledge_and_conversations() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}  ({rule.name})"
        for path in checked_modules()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for rule in RULES
        if rule.pattern.search(line)
    ]
    assert len(checked_modules()) > 30, "the scan found too few modules"
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
