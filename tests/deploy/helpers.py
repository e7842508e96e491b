"""What the deploy tests read: the files under deploy/, and the names the code reads settings by."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.config.test_env_example import names_read_by_the_code

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


@cache
def settings_names() -> frozenset[str]:
    """Every variable Enclave reads (Django settings and deploy/entrypoint.sh)."""
    return frozenset(names_read_by_the_code())


def setting_name(variable: str) -> str:
    """NAME for NAME_FILE (every setting may come from a file), else the variable itself."""
    return variable.removesuffix("_FILE")


@cache
def dockerfile_runtime_env() -> dict[str, str]:
    """The ENV of the Dockerfile's last stage (the image that runs)."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    runtime = text.rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", runtime, flags=re.MULTILINE):
        env.update(re.findall(r"([A-Z_]+)=(\S+)", line))
    return env


@cache
def image_settings(*names: str) -> tuple[str, ...]:
    """Settings as the image's environment makes them (paths under its ENCLAVE_DATA_DIR)."""
    image_env = dockerfile_runtime_env()
    env = {**os.environ, "SECRET_KEY": "x"}
    env |= {name: image_env[name] for name in ("ENCLAVE_DATA_DIR", "DJANGO_SETTINGS_MODULE")}
    code = "import sys; from django.conf import settings; print(*(getattr(settings, n) for n in sys.argv[1:]))"
    command = [sys.executable, "-c", code, *names]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return tuple(result.stdout.split())


def uploads_dir() -> str:
    """Where the image keeps uploads, shared by web and worker: settings' UPLOADS_DIR."""
    return image_settings("UPLOADS_DIR")[0]
