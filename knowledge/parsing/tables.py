"""Tables as blocks that stand alone: every row repeats the header row ("Region: EMEA | Q3: 12.4"), and
each block of rows names them in its heading path ("Revenue > rows 2–11"), which is what a citation shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from knowledge.parsing.base import BadDocument, Block
from knowledge.parsing.blocks import clean

# A block of rows is kept within one chunk, so that the rows a chunk's citation names are the rows it holds.
# Parsing has no tokenizer, so UTF-8 bytes stand in for tokens: rows of codes and numbers, or of Chinese, take
# about 2.7 bytes a token with multilingual-e5, so 400 bytes came to at most ~150 tokens, inside the default
# 200-token chunk (600 bytes made two chunks of most blocks). A block that is cut still names all its rows.
BLOCK_BYTES = 400
BLOCK_ROWS = 20

Row = tuple[int, Sequence[object]]  # the row's number as the spreadsheet shows it, and its cells' values


class RowCounter:
    """Counts a file's rows with content, over all its sheets, and refuses the file past the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows = 0

    def count(self) -> None:
        self.rows += 1
        if self.rows > self.limit:
            raise BadDocument(
                f"The spreadsheet has more than {self.limit:,} rows with content, over the limit "
                "(ENCLAVE_SHEET_MAX_ROWS). Split it into smaller files, or raise the limit."
            )


def table_blocks(rows: Iterable[Row], *, path: tuple[str, ...], counter: RowCounter) -> list[Block]:
    """The rows as blocks of lines; the first row with content is the header that every other row repeats."""
    blocks: list[Block] = []
    header: tuple[int, list[str]] | None = None
    group: list[tuple[int, str]] = []
    size = 0
    for number, values in rows:
        cells = [cell_text(value) for value in values]
        if not any(cells):
            continue
        counter.count()
        if header is None:
            header = (number, cells)
            continue
        line = row_text(header[1], cells)
        if group and (len(group) >= BLOCK_ROWS or size + len(line.encode()) > BLOCK_BYTES):
            blocks.append(_block(group, path))
            group, size = [], 0
        group.append((number, line))
        size += len(line.encode()) + 1
    if group:
        blocks.append(_block(group, path))
    elif header is not None:  # a table that is only a header row still says something
        blocks.append(_block([(header[0], " | ".join(cell for cell in header[1] if cell))], path))
    return blocks


def row_text(header: Sequence[str], cells: Sequence[str]) -> str:
    """ "Region: EMEA | Q3: 12.4": each non-empty cell after its column's name (a column without one: the value)."""
    pairs = []
    for index, cell in enumerate(cells):
        name = header[index] if index < len(header) else ""
        if cell:
            pairs.append(f"{name}: {cell}" if name else cell)
    return " | ".join(pairs)


def cell_text(value: object) -> str:
    """A cell's value as the spreadsheet shows it, near enough: 25 not 25.0, dates without midnight."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.15g}"  # the precision a spreadsheet keeps: 0.1 + 0.2 shows as 0.3
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return clean(str(value))


def _block(group: list[tuple[int, str]], path: tuple[str, ...]) -> Block:
    first, last = group[0][0], group[-1][0]
    rows = f"row {first}" if first == last else f"rows {first}–{last}"
    return Block(text="\n".join(line for _, line in group), heading_path=(*path, rows))
