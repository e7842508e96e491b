"""Plain text (.txt): blank lines separate the blocks."""

from __future__ import annotations

from knowledge.parsing.base import Block, ParsedDocument, RawFile, read_text
from knowledge.parsing.blocks import BLANK_LINE, add_block, normalise_newlines


def parse(file: RawFile) -> ParsedDocument:
    blocks: list[Block] = []
    for paragraph in BLANK_LINE.split(normalise_newlines(read_text(file))):
        add_block(blocks, paragraph)
    return ParsedDocument(title="", blocks=blocks, metadata={"format": "txt"})
