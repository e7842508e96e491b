"""Log records as one JSON object a line (ENCLAVE_LOG_FORMAT=json), for log collectors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has (and uvicorn's terminal-coloured copy of the message); anything
# else was passed with `extra=` and is kept as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        entry.update({key: _plain(value) for key, value in vars(record).items() if key not in _STANDARD})
        return json.dumps(entry, ensure_ascii=False)


def _plain(value: object) -> object:
    """JSON as is when it can be; otherwise its text (a request object, say)."""
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
