"""Reading a directory's claims: which of its groups Enclave takes in, and claim values as text.

Plain Python with no models, so config/settings.py can check ``ENCLAVE_OIDC_GROUPS`` at start-up
with the same parser the sign-in uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

GROUP_FILTER_FORMS = '"all", "none", "prefix:<text>" or a comma-separated list of group names'


@dataclass(frozen=True)
class GroupFilter:
    """Which of the provider's groups become Enclave groups: all, none, those with a prefix, or named ones.

    Names are kept as the provider spells them ("enclave-hr" stays "enclave-hr"), so a grant on a
    group in the console means the group of that name in the directory.
    """

    kind: Literal["all", "none", "prefix", "names"]
    values: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> GroupFilter:
        text = raw.strip()
        if text.lower() in {"all", "none"}:
            return cls("all" if text.lower() == "all" else "none")
        if text.lower().startswith("prefix:"):
            prefix = text[len("prefix:") :].strip()
            if not prefix:
                raise ValueError(f"'prefix:' needs the text that the groups start with; use {GROUP_FILTER_FORMS}")
            return cls("prefix", (prefix,))
        names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
        if not names:
            raise ValueError(f"no groups named; use {GROUP_FILTER_FORMS}")
        return cls("names", names)

    def admits(self, name: str) -> bool:
        if self.kind == "prefix":
            return name.startswith(self.values[0])
        if self.kind == "names":
            return name in self.values
        return self.kind == "all"


def claim_text(claims: Mapping[str, object], name: str) -> str:
    """A claim that should hold one string, as text ("" when absent or not a string)."""
    value = claims.get(name) if name else None
    return value.strip() if isinstance(value, str) else ""


def claim_texts(claims: Mapping[str, object], name: str) -> list[str]:
    """A claim that holds a list of strings (or a single one, as some providers send a lone group)."""
    value = claims.get(name) if name else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]
