"""Settings reject bad values with a message that names the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_str, parse_database_url


def test_booleans_accept_the_usual_spellings_and_reject_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCLAVE_X", "Yes")
    assert env_bool("ENCLAVE_X", False) is True
    monkeypatch.setenv("ENCLAVE_X", "off")
    assert env_bool("ENCLAVE_X", True) is False
    monkeypatch.setenv("ENCLAVE_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="ENCLAVE_X='maybe' is not a boolean"):
        env_bool("ENCLAVE_X", False)


def test_integers_are_checked_for_form_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_int("ENCLAVE_UNSET", 4) == 4
    monkeypatch.setenv("ENCLAVE_N", "four")
    with pytest.raises(ImproperlyConfigured, match="ENCLAVE_N='four' is not a whole number"):
        env_int("ENCLAVE_N", 1)
    monkeypatch.setenv("ENCLAVE_N", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 1"):
        env_int("ENCLAVE_N", 1, minimum=1)


def test_choices_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCLAVE_LEVEL", "LOUD")
    with pytest.raises(ImproperlyConfigured, match="not one of: DEBUG, INFO"):
        env_choice("ENCLAVE_LEVEL", "INFO", ("DEBUG", "INFO"))
    monkeypatch.setenv("ENCLAVE_HOSTS", " a.example , b.example,, ")
    assert env_list("ENCLAVE_HOSTS", []) == ["a.example", "b.example"]


def test_secrets_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "s3cret"
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match=r"SECRET_KEY_FILE=.* cannot be read"):
        env_str("SECRET_KEY")


def test_database_urls_parse_into_django_settings() -> None:
    url = parse_database_url("DATABASE_URL", "postgresql://app:p%40ss@db.internal:6543/enclave?sslmode=require")
    assert url.as_django() == {
        "ENGINE": "config.postgres",
        "NAME": "enclave",
        "USER": "app",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
    }
    socket = parse_database_url("DATABASE_URL", "postgresql://app@/enclave?host=/run/postgresql")
    assert (socket.host, socket.port) == ("/run/postgresql", "")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u@h/db", "must start with postgresql://"),
        ("postgresql://u@h", "names no database"),
        ("postgresql://u@h:notaport/db", "invalid port"),
    ],
)
def test_bad_database_urls_are_rejected_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url("DATABASE_URL", raw)
