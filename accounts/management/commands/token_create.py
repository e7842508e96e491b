"""Create a personal API token for a user; the token is printed once (only its hash is kept).

manage.py token_create alice --name helpdesk --scopes ask,read
TOKEN=$(manage.py token_create admin --name uploads --scopes admin,read --expires-in-days 30)
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Scope, User
from accounts.tokens import TokenError, token_create


class Command(BaseCommand):
    help = "Create an API token for a user. The token goes to standard output (alone), the rest to standard error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for, e.g. helpdesk")
        parser.add_argument("--scopes", default="ask,read", help=f"comma-separated: {', '.join(Scope.values)}")
        parser.add_argument("--expires-in-days", type=int, default=None, help="default: never expires")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user called {options['username']!r} (manage.py user_add creates one).")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        try:
            issued = token_create(
                user=user,
                name=options["name"],
                scopes=options["scopes"].split(","),
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        token = issued.token
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
        self.stderr.write(f"token {token.name!r} for {user.username}: scopes {', '.join(token.scopes)}; {expiry}")
        self.stderr.write("Copy it now: it is not shown again.")
        self.stdout.write(issued.secret)
