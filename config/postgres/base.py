"""Django's PostgreSQL backend, plus starting the embedded server on first connection.

Settings cannot know the embedded server's socket directory before the server runs, and most
management commands (makemigrations, check) never connect at all; so the server is started
lazily, by the first connection a process opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base

from config import embedded_db


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        data_dir = self.settings_dict.get("EMBEDDED_DATA_DIR")
        if data_dir:
            shared_buffers_mb = self.settings_dict.get("EMBEDDED_SHARED_BUFFERS_MB")
            self.settings_dict["HOST"] = embedded_db.ensure_running(Path(data_dir), shared_buffers_mb)
        return super().get_connection_params()
