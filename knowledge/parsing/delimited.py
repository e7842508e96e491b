"""Comma- and tab-separated values (.csv, .tsv): rows repeating the header row, like a spreadsheet's sheet.

The text is decoded as every text format is (UTF-8, the declared charset, else a guess: a GB18030 export
from a Chinese Excel reads correctly); a .csv's delimiter is sniffed, since European exports use ";".
"""

from __future__ import annotations

import csv
import io

from knowledge.parsing.base import ParsedDocument, RawFile, library_errors, read_text
from knowledge.parsing.tables import RowCounter, table_blocks

_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024


def parse_csv(file: RawFile) -> ParsedDocument:
    return _parse(file, "csv", delimiter=None)


def parse_tsv(file: RawFile) -> ParsedDocument:
    return _parse(file, "tsv", delimiter="\t")


def _parse(file: RawFile, fmt: str, *, delimiter: str | None) -> ParsedDocument:
    text = read_text(file)
    counter = RowCounter(file.max_rows)
    with library_errors(f"The .{fmt} file could not be read"):  # e.g. a field past csv's size limit
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or _sniff(text))
        blocks = table_blocks(enumerate(reader, start=1), path=(), counter=counter)
    return ParsedDocument(title="", blocks=blocks, metadata={"format": fmt, "rows": counter.rows})


def _sniff(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=_DELIMITERS).delimiter
    except csv.Error:  # one column, or too irregular to tell: the comma the name promises
        return ","
