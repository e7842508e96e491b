"""Create the demo people, groups, sources and grants (idempotent; prints the sign-in details).

Three staff members show the visibility rule at work: alice is granted the HR handbook directly,
bob sees it through the "hr" group, and charlie, an outsider, sees only what all staff see. The
documents come from deploy/demo/ (see its README) and are ingested here, without a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.models import Role, User
from accounts.services import user_setup
from core.rls import acting_as_system
from knowledge.models import Source, SyncRun
from knowledge.services.grants import grant_create
from knowledge.services.sources import source_ensure, source_sync, source_update, sync_run_ingest_inline

DEMO_DIR = Path(settings.BASE_DIR) / "deploy" / "demo"

DEMO_PEOPLE: list[tuple[str, Role, list[str]]] = [
    ("admin", Role.KNOWLEDGE_ADMIN, []),
    ("alice", Role.STAFF, []),
    ("bob", Role.STAFF, ["hr"]),
    ("charlie", Role.STAFF, []),
]


class Command(BaseCommand):
    help = "Create demo users (admin, alice, bob, charlie), groups, sources, grants and documents."

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = _load_credentials()
        for username, role, groups in DEMO_PEOPLE:
            result = user_setup(username=username, role=role, groups=groups, generate_password=True)
            if result.password:
                credentials[username] = result.password
        _save_credentials(credentials)
        with acting_as_system():
            sources = _demo_sources_and_grants()
        for source in sources:
            self._ingest(source)
        self.stdout.write("Demo sign-in (passwords are kept in var/demo-users.txt):")
        for username, role, groups in DEMO_PEOPLE:
            note = f"{role.label}" + (f", groups: {', '.join(groups)}" if groups else "")
            self.stdout.write(f"  {username:<8} {credentials.get(username, '(password set elsewhere)'):<20} {note}")

    def _ingest(self, source: Source) -> None:
        """Ingest here rather than through a worker, so the corpus is searchable when this returns."""
        run = source_sync(source_id=source.pk, trigger=SyncRun.Trigger.COMMAND, enqueue=False)
        outcomes: list[str] = []
        sync_run_ingest_inline(run, lambda document, result: outcomes.append(result.outcome))
        summary = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes)) or "empty"
        self.stdout.write(f"{source.name}: {summary}")


@dataclass(frozen=True)
class DemoSource:
    name: str
    folder: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    all_staff: bool = False


DEMO_SOURCES = [
    DemoSource("HR handbook", "hr", users=("alice",), groups=("hr",)),
    DemoSource("Finance policies", "finance", users=("alice",)),
    DemoSource("Engineering runbooks", "engineering", groups=("engineering",)),
    DemoSource("Company notices", "company", all_staff=True),
]


def _demo_sources_and_grants() -> list[Source]:
    admin = User.objects.get(username="admin")
    sources = []
    for demo in DEMO_SOURCES:
        folder = {"path": str(DEMO_DIR / demo.folder), "recursive": True}
        source = source_ensure(name=demo.name, kind=Source.Kind.FOLDER, config=folder, acting_user=admin)
        folder_settings = {"kind": Source.Kind.FOLDER, "config": folder, "visible_to_all_staff": demo.all_staff}
        source_update(source=source, acting_user=admin, **folder_settings)
        for username in demo.users:
            grant_create(user=User.objects.get(username=username), source=source, acting_user=admin)
        for group in demo.groups:
            grant_create(group=Group.objects.get_or_create(name=group)[0], source=source, acting_user=admin)
        sources.append(source)
    return sources


def _credentials_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-users.txt"


def _load_credentials() -> dict[str, str]:
    path = _credentials_file()
    if not path.exists():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines() if " " in line)
    return {name: password for name, password in pairs}


def _save_credentials(credentials: dict[str, str]) -> None:
    path = _credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join(f"{name} {password}\n" for name, password in sorted(credentials.items())), "utf-8")
