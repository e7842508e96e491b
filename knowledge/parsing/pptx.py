"""PowerPoint (.pptx): each slide's title, text, tables and speaker notes. Every block of a slide has the
slide's number as its page and "Slide N" (then the slide's title) as its heading path, so a citation
reads "Slide 3 > Quarterly results"."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pptx  # python-pptx (absolute import: this module is knowledge.parsing.pptx)
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape
from pptx.slide import Slide

from knowledge.parsing.base import Block, ParsedDocument, RawFile, check_zip, library_errors
from knowledge.parsing.blocks import add_block, clean
from knowledge.parsing.tables import cell_text, row_text

_NOT_PPTX = "The slide deck is damaged or not a .pptx file (old .ppt files must be saved as .pptx first)"


def parse(file: RawFile) -> ParsedDocument:
    check_zip(file, kind="The slide deck", unreadable=_NOT_PPTX)  # also refuses password-protected files
    with library_errors(_NOT_PPTX):
        deck = pptx.Presentation(io.BytesIO(file.data))
        slides = [(_title(slide), slide) for slide in deck.slides]
        blocks = [block for number, (title, slide) in enumerate(slides, 1) for block in _blocks(slide, number, title)]
        title = clean(deck.core_properties.title or "") or next((title for title, _ in slides if title), "")
    return ParsedDocument(title=title, blocks=blocks, metadata={"format": "pptx", "slides": len(slides)})


def _title(slide: Slide) -> str:
    shape = slide.shapes.title
    return clean(shape.text_frame.text) if shape is not None else ""


def _blocks(slide: Slide, number: int, title: str) -> list[Block]:
    path = (f"Slide {number}", title) if title else (f"Slide {number}",)
    blocks: list[Block] = []
    add_block(blocks, title, path, number)  # the title's words are searchable too, not only a label
    title_shape = slide.shapes.title
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.has_text_frame:
            for paragraph in shape.text_frame.paragraphs:  # type: ignore[attr-defined]
                add_block(blocks, paragraph.text, path, number)
        elif getattr(shape, "has_table", False):
            _table(blocks, shape, path, number)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        add_block(blocks, "Speaker notes: " + notes.text, path, number)
    return blocks


def _shapes(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Every shape in z-order (the order they were added, near enough reading order), grouped ones included."""
    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _table(blocks: list[Block], shape: BaseShape, path: tuple[str, ...], page: int) -> None:
    """A slide's table as one block, a line per row, each row repeating the header ("Office: Oslo | Staff: 12")."""
    rows = [[cell_text(cell.text) for cell in row.cells] for row in shape.table.rows]  # type: ignore[attr-defined]
    rows = [row for row in rows if any(row)]
    if rows:
        lines = [" | ".join(cell for cell in rows[0] if cell)] if len(rows) == 1 else []
        lines += [row_text(rows[0], row) for row in rows[1:]]
        blocks.append(Block(text="\n".join(lines), heading_path=path, page=page))
