"""Markdown (.md): ATX headings become heading paths, fenced code stays whole, a table is one block with a
line per row, other text splits on blank lines."""

from __future__ import annotations

import re

from knowledge.parsing.base import Block, ParsedDocument, RawFile, read_text
from knowledge.parsing.blocks import HeadingPath, add_block, clean, clean_code, normalise_newlines, push_heading, titles

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
# The line under a table's header row: | --- | :---: | ---: |
_TABLE_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def parse(file: RawFile) -> ParsedDocument:
    blocks: list[Block] = []
    path: HeadingPath = []
    lines = normalise_newlines(read_text(file)).split("\n")
    paragraph: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence, heading, rule = _FENCE.match(line), _HEADING.match(line), _RULE.match(line)
        table = _starts_table(lines, index)
        if fence or heading or rule or table or not line.strip():  # each of these ends the paragraph so far
            add_block(blocks, "\n".join(paragraph), titles(path))
            paragraph = []
        if fence:
            index = _code_block(lines, index, fence.group(1), blocks, titles(path))
        elif table:
            index = _table(lines, index, blocks, titles(path))
        elif heading:
            push_heading(path, len(heading.group(1)), clean(heading.group(2) or ""))
        elif line.strip() and not rule:
            paragraph.append(line)
        index += 1
    add_block(blocks, "\n".join(paragraph), titles(path))
    return ParsedDocument(title="", blocks=blocks, metadata={"format": "md"})


def _code_block(lines: list[str], start: int, fence: str, blocks: list[Block], path: tuple[str, ...]) -> int:
    """Add the fenced block opening at ``start`` as one block; return the index of its closing fence."""
    end = start + 1
    while end < len(lines) and not _closes_fence(lines[end], fence):
        end += 1
    code = clean_code("\n".join(lines[start + 1 : end]))
    if code:
        blocks.append(Block(text=code, heading_path=path))
    return end


def _closes_fence(line: str, fence: str) -> bool:
    """Only a line of the fence's character, at least as long, closes it (```python inside does not)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _starts_table(lines: list[str], index: int) -> bool:
    """A row of cells over a delimiter line; both have pipes, so "text" over "---" stays a rule."""
    below = lines[index + 1] if index + 1 < len(lines) else ""
    return "|" in lines[index] and "|" in below and bool(_TABLE_DELIMITER.match(below))


def _table(lines: list[str], start: int, blocks: list[Block], path: tuple[str, ...]) -> int:
    """Add the table opening at ``start`` as one block, a line per row ("a | b"), so that its rows stay rows
    in chunks and citations; return the index of its last line."""
    rows = [_cells(lines[start])]
    end = start + 2  # past the delimiter line
    while end < len(lines) and lines[end].strip() and "|" in lines[end]:
        rows.append(_cells(lines[end]))
        end += 1
    text = "\n".join(" | ".join(cells) for cells in rows if any(cells))
    if text:
        blocks.append(Block(text=text, heading_path=path))
    return end - 1


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [clean(cell.replace("\\|", "|")) for cell in re.split(r"(?<!\\)\|", inner)]  # "\|": a pipe in a cell
