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

from knowledge.parsing import docx, html, md, pdf, txt
from knowledge.parsing.base import BadDocument, Block, ParsedDocument, Parser, RawFile, check_size

__all__ = ["FORMATS", "BadDocument", "Block", "Format", "ParsedDocument", "document_parse"]


@dataclass(frozen=True)
class Format:
    parse: Parser
    extensions: tuple[str, ...]  # lower case, with the dot; the first is the one named to users
    content_types: tuple[str, ...]  # chosen only when the extension names no format


FORMATS: dict[str, Format] = {
    "txt": Format(txt.parse, (".txt",), ("text/plain",)),
    "md": Format(md.parse, (".md", ".markdown"), ("text/markdown",)),
    "html": Format(html.parse, (".html", ".htm"), ("text/html",)),
    "pdf": Format(pdf.parse, (".pdf",), ("application/pdf",)),
    "docx": Format(
        docx.parse, (".docx",), ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)
    ),
}
EXTENSION_FORMATS = {extension: name for name, fmt in FORMATS.items() for extension in fmt.extensions}
MIME_FORMATS = {content_type: name for name, fmt in FORMATS.items() for content_type in fmt.content_types}
_NAMED = [fmt.extensions[0] for fmt in FORMATS.values()]
SUPPORTED = ", ".join(_NAMED[:-1]) + " and " + _NAMED[-1]  # ".txt, .md, .html, .pdf and .docx"


def document_parse(*, data: bytes, filename: str, content_type: str | None = None, max_bytes: int) -> ParsedDocument:
    """The text blocks of one uploaded file, or BadDocument saying in words why it cannot be read."""
    fmt, charset = _detect_format(filename, content_type)
    check_size(data, max_bytes)
    parsed = FORMATS[fmt].parse(RawFile(data=data, max_bytes=max_bytes, charset=charset))
    if not parsed.blocks:
        raise BadDocument("The file contains no readable text.")
    return replace(parsed, title=parsed.title or _fallback_title(parsed.blocks, filename))


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
