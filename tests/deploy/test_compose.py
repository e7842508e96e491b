"""deploy/compose.yaml: valid by the Compose Specification, and its pieces fit together.

The schema is the Compose Specification's JSON schema as vendored in the `check-jsonschema`
package (offline); the rest checks what `docker compose up` would only reveal when it runs.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.env import parse_database_url
from tests.deploy.helpers import DEPLOY, ROOT, setting_name, settings_names, uploads_dir

COMPOSE = DEPLOY / "compose.yaml"
APP_SERVICES = ("migrate", "web", "worker", "beat")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    command = [str(tool), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_compose_file_is_valid_by_the_compose_specification() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = COMPOSE.read_text(encoding="utf-8").replace("service_completed_successfully", "service_finished")
    (tmp_path / "compose.yaml").write_text(broken, encoding="utf-8")
    result = check_compose_schema(tmp_path / "compose.yaml")
    assert result.returncode == 1 and "service_finished" in result.stdout


def test_every_role_runs_the_image_built_from_this_repository() -> None:
    app = services()
    assert set(app) == {"db", "redis", *APP_SERVICES}
    for name in APP_SERVICES:
        build = app[name]["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert app[name]["pull_policy"] == "build", name  # never someone else's image of that name
    assert [app[name]["command"] for name in APP_SERVICES] == [[name] for name in APP_SERVICES]


def test_start_order_database_then_migrations_then_the_rest() -> None:
    app = services()
    assert app["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert app[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert app[name]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_the_database_is_healthy_only_once_it_listens_on_the_network() -> None:
    """During first-start initialisation the server listens on its socket only: a socket check
    would pass before init-roles.sh has made the roles, and migrate would fail."""
    test = services()["db"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"] and test[test.index("--host") + 1] == "127.0.0.1"


def test_the_database_runs_the_role_script_on_first_start() -> None:
    db = services()["db"]
    (mount,) = [volume for volume in db["volumes"] if "docker-entrypoint-initdb.d" in volume]
    source, target, mode = mount.split(":")
    script = (COMPOSE.parent / source).resolve()
    assert script == DEPLOY / "postgres" / "init-roles.sh" and target.endswith(".sh") and mode == "ro"
    # Executable: the postgres image runs it; otherwise it would source it into its own shell.
    assert os.access(script, os.X_OK)
    assert db["environment"]["POSTGRES_DB"] == "enclave"


def test_web_and_worker_share_the_uploads_volume_where_the_settings_put_uploads() -> None:
    app = services()
    for name in ("web", "worker"):
        assert f"uploads:{uploads_dir()}" in app[name]["volumes"], name
    assert "uploads" in compose()["volumes"]


def test_secrets_reach_the_services_that_name_them_and_only_migrate_gets_the_owner_role() -> None:
    for name, service in services().items():
        given = set(service.get("secrets", []))
        for variable, value in service.get("environment", {}).items():
            if str(value).startswith("/run/secrets/"):
                assert value.removeprefix("/run/secrets/") in given, (name, variable)
        assert ("database_owner_url" in given) == (name in {"db", "migrate"}), name


def test_app_services_set_only_variables_enclave_reads() -> None:
    for name in APP_SERVICES:
        for variable in services()[name]["environment"]:
            assert setting_name(variable) in settings_names(), (name, variable)


def interpolated() -> set[str]:
    """The ${NAME...} that compose fills in from deploy/.env."""
    return set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text(encoding="utf-8")))


def test_env_compose_example_sets_only_what_enclave_or_compose_reads() -> None:
    text = (DEPLOY / ".env.compose.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE))
    assert {"CELERY_BROKER_URL", "ENCLAVE_ALLOWED_HOSTS", "PUBLISH_ADDRESS"} <= names
    assert names - settings_names() - interpolated() == set()
    # The secrets are files (deploy/compose-secrets.sh), not values in the environment file.
    assert not names & {"SECRET_KEY", "DATABASE_URL", "ENCLAVE_DATABASE_OWNER_URL"}


def test_env_compose_example_points_at_the_compose_broker() -> None:
    text = (DEPLOY / ".env.compose.example").read_text(encoding="utf-8")
    assert "CELERY_BROKER_URL=redis://redis:6379/0" in text.splitlines()
    assert "redis" in services()


# --- deploy/compose-secrets.sh ----------------------------------------------------------------


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    script = tmp_path / "deploy" / "compose-secrets.sh"
    script.parent.mkdir()
    shutil.copy2(DEPLOY / "compose-secrets.sh", script)
    subprocess.run([str(script)], check=True, capture_output=True, timeout=30)
    return script.parent / "secrets"


def test_compose_secrets_makes_every_secret_file_compose_mounts(secrets_dir: Path) -> None:
    files = {name: (COMPOSE.parent / spec["file"]).name for name, spec in compose()["secrets"].items()}
    assert sorted(path.name for path in secrets_dir.iterdir()) == sorted(files.values())
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700  # nobody else on the machine
    for path in secrets_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the containers' own users read them


def test_compose_secrets_urls_are_what_the_settings_and_the_roles_script_expect(secrets_dir: Path) -> None:
    owner = parse_database_url("ENCLAVE_DATABASE_OWNER_URL", (secrets_dir / "database_owner_url").read_text().strip())
    runtime = parse_database_url("DATABASE_URL", (secrets_dir / "database_url").read_text().strip())
    assert (owner.host, owner.port, owner.name) == ("db", "5432", "enclave")
    assert (runtime.host, runtime.port, runtime.name) == ("db", "5432", "enclave")
    assert owner.user != runtime.user and owner.password != runtime.password
    assert len(runtime.password) >= 32


def test_compose_secrets_keeps_existing_secrets(secrets_dir: Path) -> None:
    before = {path.name: path.read_text() for path in secrets_dir.iterdir()}
    subprocess.run([str(secrets_dir.parent / "compose-secrets.sh")], check=True, capture_output=True, timeout=30)
    assert {path.name: path.read_text() for path in secrets_dir.iterdir()} == before


def test_secrets_stay_out_of_git() -> None:
    result = subprocess.run(
        [
            str(shutil.which("git")),
            "check-ignore",
            "deploy/secrets/database_url",
            "deploy/.env",
            "deploy/k8s/secret.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["deploy/secrets/database_url", "deploy/.env", "deploy/k8s/secret.yaml"]
