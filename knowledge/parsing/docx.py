"""Word (.docx): Heading and Title paragraphs become heading paths; other paragraphs and table rows become blocks."""

from __future__ import annotations

import io
import re

import docx  # python-docx (absolute import: this module is knowledge.parsing.docx)
from docx.document import Document as DocxDocument
from docx.table import _Cell, _Row
from docx.text.paragraph import Paragraph

from knowledge.parsing.base import Block, ParsedDocument, RawFile, check_zip, library_errors
from knowledge.parsing.blocks import HeadingPath, add_block, clean, push_heading, titles

_HEADING = re.compile(r"heading\s*(\d)", re.IGNORECASE)
_NOT_DOCX = "The Word file is damaged or not a .docx file (old .doc files must be saved as .docx first)"


def parse(file: RawFile) -> ParsedDocument:
    check_zip(file, kind="The Word file", unreadable=_NOT_DOCX)  # before python-docx inflates anything
    with library_errors(_NOT_DOCX):
        document = docx.Document(io.BytesIO(file.data))
        blocks = _blocks(document)
        title = clean(document.core_properties.title or "")
    return ParsedDocument(title=title, blocks=blocks, metadata={"format": "docx"})


def _blocks(document: DocxDocument) -> list[Block]:
    blocks: list[Block] = []
    path: HeadingPath = []
    for item in document.iter_inner_content():  # paragraphs and tables in reading order
        if isinstance(item, Paragraph):
            level = _heading_level(item)
            if level is None:
                add_block(blocks, item.text, titles(path))
            else:
                push_heading(path, level, clean(item.text))
        else:
            for row in item.rows:
                add_block(blocks, _row(row), titles(path))
    return blocks


def _heading_level(paragraph: Paragraph) -> int | None:
    """0 for the Title style (above every heading), N for "Heading N", None for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name == "Title":
        return 0
    match = _HEADING.match(name)
    return int(match.group(1)) if match else None


def _row(row: _Row) -> str:
    cells: list[_Cell] = []
    for cell in row.cells:
        if not cells or cell is not cells[-1]:  # a merged cell is listed once per column it spans
            cells.append(cell)
    texts = [clean(cell.text) for cell in cells]
    return " | ".join(texts) if any(texts) else ""
