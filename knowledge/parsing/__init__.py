"""Turning a file's bytes into text blocks that keep their structure (headings, pages).

One module per format, each with ``parse(file: RawFile) -> ParsedDocument``; ``FORMATS`` maps the
format's name to that function and to the file extensions and content types that select it. Adding
a format is one module and one entry in ``FORMATS``. What formats share (the result types,
``BadDocument``, the size, text-decoding and zip-bomb guards) is in ``base.py``; cleaning text into
blocks and tracking headings is in ``blocks.py``.

Every way a file can be unusable raises BadDocument with a reason written for a knowledge admin;
the ingestion service stores that reason on the document and carries on with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from knowledge.parsing import delimited, docx, eml, html, mbox, md, ods, pdf, pptx, txt, xlsx
from knowledge.parsing.base import BadDocument, Block, ParsedDocument, Parser, RawFile, check_size

__all__ = ["FORMATS", "BadDocument", "Block", "Format", "ParsedDocument", "document_parse"]


@dataclass(frozen=True)
class Format:
    parse: Parser
    extensions: tuple[str, ...]  # lower case, with the dot; the first is the one named to users
    content_types: tuple[str, ...]  # chosen only when the extension names no format
    # Whether a document without a title of its own takes its first heading as one: not where the
    # heading paths are places ("Sheet1 > rows 2–11", "Slide 1"), which make poor titles; the file name does.
    headings_are_titles: bool = True


_OOXML = "application/vnd.openxmlformats-officedocument"
FORMATS: dict[str, Format] = {
    "txt": Format(txt.parse, (".txt",), ("text/plain",)),
    "md": Format(md.parse, (".md", ".markdown"), ("text/markdown",)),
    "html": Format(html.parse, (".html", ".htm"), ("text/html",)),
    "pdf": Format(pdf.parse, (".pdf",), ("application/pdf",)),
    "docx": Format(docx.parse, (".docx",), (f"{_OOXML}.wordprocessingml.document",)),
    "xlsx": Format(
        xlsx.parse,
        (".xlsx", ".xlsm"),
        (f"{_OOXML}.spreadsheetml.sheet", "application/vnd.ms-excel.sheet.macroenabled.12"),
        headings_are_titles=False,
    ),
    "ods": Format(ods.parse, (".ods",), ("application/vnd.oasis.opendocument.spreadsheet",), headings_are_titles=False),
    "csv": Format(delimited.parse_csv, (".csv",), ("text/csv",), headings_are_titles=False),
    "tsv": Format(delimited.parse_tsv, (".tsv",), ("text/tab-separated-values",), headings_are_titles=False),
    "pptx": Format(pptx.parse, (".pptx",), (f"{_OOXML}.presentationml.presentation",), headings_are_titles=False),
    "eml": Format(eml.parse, (".eml",), ("message/rfc822",), headings_are_titles=False),
    "mbox": Format(mbox.parse, (".mbox",), ("application/mbox",), headings_are_titles=False),
}
EXTENSION_FORMATS = {extension: name for name, fmt in FORMATS.items() for extension in fmt.extensions}
MIME_FORMATS = {content_type: name for name, fmt in FORMATS.items() for content_type in fmt.content_types}
_NAMED = [fmt.extensions[0] for fmt in FORMATS.values()]
SUPPORTED = ", ".join(_NAMED[:-1]) + " and " + _NAMED[-1]  # ".txt, .md, .html, .pdf, .docx, ... and .mbox"


def document_parse(
    *,
    data: bytes,
    filename: str,
    content_type: str | None = None,
    max_bytes: int,
    max_rows: int = 100_000,
    depth: int = 0,
) -> ParsedDocument:
    """The text blocks of one uploaded file, or BadDocument saying in words why it cannot be read.

    ``max_rows`` bounds a spreadsheet's rows; ``depth`` counts the e-mails a file is attached inside.
    """
    fmt, charset = _detect_format(filename, content_type)
    check_size(data, max_bytes)

    def attachment_parse(data: bytes, filename: str, content_type: str | None) -> ParsedDocument:
        limits = {"max_bytes": max_bytes, "max_rows": max_rows}
        return document_parse(data=data, filename=filename, content_type=content_type, **limits, depth=depth + 1)

    file = RawFile(data, max_bytes, charset, max_rows=max_rows, depth=depth, attachment_parse=attachment_parse)
    parsed = FORMATS[fmt].parse(file)
    if not parsed.blocks:
        raise BadDocument("The file contains no readable text.")
    headings = parsed.blocks if FORMATS[fmt].headings_are_titles else []
    return replace(parsed, title=parsed.title or _fallback_title(headings, filename))


def _detect_format(filename: str, content_type: str | None) -> tuple[str, str | None]:
    """The format by extension (browsers guess MIME types badly), else by the declared type; plus any charset."""
    extension = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    mime, _, params = (content_type or "").partition(";")
    charset = _charset_param(params)
    fmt = EXTENSION_FORMATS.get(extension) or MIME_FORMATS.get(mime.strip().lower())
    if fmt is None:
        named = f"'{extension}'" if extension else "(the file name has no extension)"
        raise BadDocument(f"Unsupported file type {named}: Enclave reads {SUPPORTED} files.")
    return fmt, charset


def _charset_param(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'").lower()
    return None


def _fallback_title(blocks: list[Block], filename: str) -> str:
    """The first heading, else the file name without its extension: some title is better than none."""
    for block in blocks:
        if block.heading_path:
            return block.heading_path[0]
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    return stem or "Untitled"
