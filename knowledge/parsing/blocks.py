"""Building blocks from a format's text: whitespace cleaned the same way everywhere, headings tracked."""

from __future__ import annotations

import re

from knowledge.parsing.base import Block

# Chinese and Japanese wrap lines without spaces; joining their wrapped lines with a space would
# put spaces in the middle of sentences.
_CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")
BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")

# The headings open above the current position, outermost first, each with its level.
HeadingPath = list[tuple[int, str]]


def clean(text: str) -> str:
    """One line of prose: whitespace runs become single spaces (str.split knows Unicode spaces)."""
    return " ".join(_CJK_LINE_BREAK.sub("", text).split())


def clean_code(text: str) -> str:
    """Code keeps its lines and indentation, which carry meaning; only trailing blanks go."""
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def add_block(blocks: list[Block], text: str, path: tuple[str, ...] = (), page: int | None = None) -> None:
    cleaned = clean(text)
    if cleaned:
        blocks.append(Block(text=cleaned, heading_path=path, page=page))


def push_heading(path: HeadingPath, level: int, text: str) -> None:
    """A heading closes every open heading at its level or deeper, then opens itself."""
    while path and path[-1][0] >= level:
        path.pop()
    if text:
        path.append((level, text))


def titles(path: HeadingPath) -> tuple[str, ...]:
    return tuple(text for _, text in path)
