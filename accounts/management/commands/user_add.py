"""Create a user (or update an existing one) and put them in groups.

manage.py user_add alice --group hr --group finance
manage.py user_add dana --role knowledge_admin --password-stdin < secret.txt
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Role
from accounts.services import user_setup


class Command(BaseCommand):
    help = "Create or update a user with a role and groups; prints a generated password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.STAFF)
        parser.add_argument("--group", action="append", default=[], help="group name; repeat for several")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("--password-stdin given but standard input was empty")
        result = user_setup(
            username=options["username"],
            role=Role(options["role"]),
            groups=options["group"],
            password=password,
            generate_password=True,
            email=options["email"],
        )
        verb = "created" if result.created else "updated"
        groups = ", ".join(sorted(result.user.groups.values_list("name", flat=True))) or "no groups"
        self.stdout.write(f"{verb} {result.user.username} ({result.user.get_role_display()}; {groups})")
        if result.password and not options["password_stdin"]:
            self.stdout.write(f"password: {result.password}")
