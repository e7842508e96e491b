"""Create the bearer token a company directory's SCIM client provisions with; printed once.

manage.py scim_token_create --name okta
TOKEN=$(manage.py scim_token_create --name entra)
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.scim.tokens import ScimTokenError, scim_token_create


class Command(BaseCommand):
    help = (
        "Create a SCIM token for a directory (Okta, Entra ID). The token goes to standard output (alone), "
        "the rest to standard error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="which directory uses it, e.g. okta")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = scim_token_create(name=options["name"])
        except ScimTokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"SCIM token {issued.token.name!r}: give it to the directory with the SCIM URL "
            "https://<your Enclave>/scim/v2/ (see README, 'Provisioning with SCIM')."
        )
        self.stderr.write("Copy it now: it is not shown again.")
        self.stdout.write(issued.secret)
