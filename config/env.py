"""Typed readers for environment settings.

Every reader rejects a malformed value with ImproperlyConfigured naming the variable, so a typo
in a deployment fails at start-up with a readable message instead of misbehaving later.
``NAME_FILE`` is accepted for every variable so secrets can come from mounted files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """The raw value of NAME, or the contents of the file NAME_FILE points at, or default."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}")
    return value


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={value} is outside {minimum}..{maximum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env_str(name) or default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(choices)}")
    return value


def env_path(name: str, default: Path) -> Path:
    raw = env_str(name)
    return Path(raw).expanduser().resolve() if raw else default


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a ``postgresql://user:password@host:port/name?sslmode=...`` URL."""

    user: str
    password: str
    host: str
    port: str
    name: str
    options: dict[str, str]

    def as_django(self) -> dict[str, object]:
        return {
            "ENGINE": "config.postgres",
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "OPTIONS": dict(self.options),
        }


def parse_database_url(name: str, raw: str) -> DatabaseUrl:
    parts = urlsplit(raw)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"{name} must start with postgresql://, got {parts.scheme or 'nothing'}://")
    db_name = unquote(parts.path.lstrip("/"))
    if not db_name:
        raise ImproperlyConfigured(f"{name} names no database (expected postgresql://user@host/NAME)")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    # libpq accepts a socket directory as ?host=/path; keep that form working.
    host = query.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = str(parts.port or "")
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port") from None
    return DatabaseUrl(
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=host,
        port=port,
        name=db_name,
        options=query,
    )


def ldap_urls(name: str, raw: str) -> str:
    """One or more ldap:// or ldaps:// URLs separated by spaces (OpenLDAP tries them in turn); "" is off."""
    urls = raw.split()
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in {"ldap", "ldaps"} or not parts.hostname:
            raise ImproperlyConfigured(f"{name}: {url!r} is not an ldap://host or ldaps://host URL")
        try:
            parts.port  # noqa: B018 (urlsplit checks the port only when asked for it)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {url!r} has an invalid port") from None
    return " ".join(urls)


def ldap_filter(name: str, raw: str, *, placeholder: bool = False) -> str:
    """An LDAP search filter in parentheses; with ``placeholder``, one that names %(user)s.

    django-auth-ldap fills filters in with Python's % operator, so a literal % must be written %%.
    """
    value = raw.strip()
    depth = 0
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if not (value.startswith("(") and value.endswith(")")) or depth != 0:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an LDAP filter in balanced parentheses, e.g. (uid=%(user)s)")
    if placeholder and "%(user)s" not in value:
        raise ImproperlyConfigured(f"{name}={raw!r} must contain %(user)s where the typed username goes")
    try:
        value % ({"user": "x"} if placeholder else ())  # only whether it formats
    except (TypeError, ValueError, KeyError):
        raise ImproperlyConfigured(f"{name}={raw!r}: write a literal % as %%") from None
    return value
