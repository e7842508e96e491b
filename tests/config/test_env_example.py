"""deploy/.env.example lists every setting the code reads, and nothing it does not.

"The code" is the Django code (the env_* readers) and the image's entrypoint, which reads a few
conventional variables of its own (WEB_CONCURRENCY, ...) as ${NAME:-default}.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = re.compile(r"env_(?:str|bool|int|float|list|choice|path)\(\s*\"([A-Z_]+)\"")
# ${NAME}, ${NAME:-default}, ${NAME-default}; NAME_FILE is the secret-file form of NAME, not a name of its own.
SHELL_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]*?)(?:_FILE)?(?::?-[^}]*)?\}")
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


def names_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        names |= set(READERS.findall(path.read_text(encoding="utf-8")))
    return names | names_read_by_the_entrypoint()


def names_read_by_the_entrypoint() -> set[str]:
    return set(SHELL_READS.findall(ENTRYPOINT.read_text(encoding="utf-8")))


def names_in_env_example() -> set[str]:
    text = (ROOT / "deploy" / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE))


def test_every_setting_read_is_documented_and_every_documented_one_is_read() -> None:
    read = names_read_by_the_code()
    assert "DATABASE_URL" in read and "SECRET_KEY" in read  # the scan itself works
    assert {"WEB_CONCURRENCY", "CELERY_CONCURRENCY"} <= read  # and so does the entrypoint's
    assert names_in_env_example() == read
