"""Create the demo people, groups, sources and grants (idempotent; prints the sign-in details).

Three staff members show the visibility rule at work: alice is granted the HR handbook directly,
bob sees it through the "hr" group, and charlie, an outsider, sees only what all staff see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.models import Role, User
from accounts.services import user_setup
from knowledge.rls import acting_as_system
from knowledge.services.grants import grant_create
from knowledge.services.sources import source_ensure

DEMO_PEOPLE: list[tuple[str, Role, list[str]]] = [
    ("admin", Role.KNOWLEDGE_ADMIN, []),
    ("alice", Role.STAFF, []),
    ("bob", Role.STAFF, ["hr"]),
    ("charlie", Role.STAFF, []),
]


class Command(BaseCommand):
    help = "Create demo users (admin, alice, bob, charlie), groups, sources and grants."

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = _load_credentials()
        for username, role, groups in DEMO_PEOPLE:
            result = user_setup(username=username, role=role, groups=groups, generate_password=True)
            if result.password:
                credentials[username] = result.password
        _save_credentials(credentials)
        with acting_as_system():
            _demo_sources_and_grants()
        self.stdout.write("Demo sign-in (passwords are kept in var/demo-users.txt):")
        for username, role, groups in DEMO_PEOPLE:
            note = f"{role.label}" + (f", groups: {', '.join(groups)}" if groups else "")
            self.stdout.write(f"  {username:<8} {credentials.get(username, '(password set elsewhere)'):<20} {note}")


def _demo_sources_and_grants() -> None:
    admin = User.objects.get(username="admin")
    handbook = source_ensure(name="HR handbook", created_by=admin)
    grant_create(user=User.objects.get(username="alice"), source=handbook, granted_by=admin)
    grant_create(group=Group.objects.get(name="hr"), source=handbook, granted_by=admin)
    source_ensure(name="Company notices", visible_to_all_staff=True, created_by=admin)


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
