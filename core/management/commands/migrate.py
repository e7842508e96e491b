"""`migrate` that runs as the owner role by default.

The runtime role ("default") may not create or alter tables, so migrating through it can only
fail; the owner connection is the one that should carry schema changes.
"""

from django.core.management.base import CommandParser
from django.core.management.commands import migrate


class Command(migrate.Command):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database="owner")
