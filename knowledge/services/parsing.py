"""Turning a file's bytes into text blocks that keep their structure (headings, pages).

Every way a file can be unusable raises BadDocument with a reason written for a knowledge admin;
the ingestion service stores that reason on the document and carries on with the others.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

import charset_normalizer
import docx
import pypdf
from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString
from docx.document import Document as DocxDocument
from docx.table import _Cell, _Row
from docx.text.paragraph import Paragraph
from pypdf import PageObject, PasswordType
from pypdf.errors import DependencyError

from core.errors import EnclaveError


class BadDocument(EnclaveError):
    """A document that cannot be ingested. ``str(exc)`` is the reason shown to admins, in words."""

    code = "invalid"  # an upload that cannot be taken is invalid input (the API's 400)
    http_status = 400


@dataclass(frozen=True)
class Block:
    """A run of text that belongs together: a paragraph, a list item, a table row, a page's text."""

    text: str
    heading_path: tuple[str, ...] = ()  # the headings above this block, outermost first
    page: int | None = None  # 1-based page number, for formats that have pages


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. {"format": "pdf", "pages": 12}


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------

MB = 1024 * 1024
SUPPORTED = ".txt, .md, .html, .pdf and .docx"
EXTENSION_FORMATS = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
MIME_FORMATS = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/html": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


def document_parse(*, data: bytes, filename: str, content_type: str | None = None, max_bytes: int) -> ParsedDocument:
    """The text blocks of one uploaded file, or BadDocument saying in words why it cannot be read."""
    fmt, charset = _detect_format(filename, content_type)
    _check_size(data, max_bytes)
    parsed = _parse_format(fmt, data, charset, max_bytes)
    if not parsed.blocks:
        raise BadDocument("The file contains no readable text.")
    return replace(parsed, title=parsed.title or _fallback_title(parsed.blocks, filename))


def _parse_format(fmt: str, data: bytes, charset: str | None, max_bytes: int) -> ParsedDocument:
    if fmt == "pdf":
        return _parse_pdf(data)
    if fmt == "docx":
        return _parse_docx(data, max_bytes)
    text = _decode_text(data, charset)
    if not text.strip():
        raise BadDocument("The file is empty: it contains only spaces and blank lines.")
    if fmt == "html":
        return _parse_html(text)
    return _parse_markdown(text) if fmt == "md" else _parse_txt(text)


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


def _check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise BadDocument("The file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise BadDocument(f"The file is {_human_size(len(data))}, over the {_human_size(max_bytes)} limit.")


def _human_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    return f"{max(size / 1024, 0.1):.1f}".removesuffix(".0") + " KB"


def _fallback_title(blocks: list[Block], filename: str) -> str:
    """The first heading, else the file name without its extension: some title is better than none."""
    for block in blocks:
        if block.heading_path:
            return block.heading_path[0]
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    return stem or "Untitled"


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

# Chinese and Japanese wrap lines without spaces; joining their wrapped lines with a space would
# put spaces in the middle of sentences.
_CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def _clean(text: str) -> str:
    """One line of prose: whitespace runs become single spaces (str.split knows Unicode spaces)."""
    return " ".join(_CJK_LINE_BREAK.sub("", text).split())


def _clean_code(text: str) -> str:
    """Code keeps its lines and indentation, which carry meaning; only trailing blanks go."""
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def _add(blocks: list[Block], text: str, path: tuple[str, ...] = (), page: int | None = None) -> None:
    cleaned = _clean(text)
    if cleaned:
        blocks.append(Block(text=cleaned, heading_path=path, page=page))


def _push_heading(path: list[tuple[int, str]], level: int, text: str) -> None:
    """A heading closes every open heading at its level or deeper, then opens itself."""
    while path and path[-1][0] >= level:
        path.pop()
    if text:
        path.append((level, text))


def _titles(path: list[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(text for _, text in path)


@contextmanager
def _library_errors(what: str) -> Iterator[None]:
    """Turn any error a parsing library raises on a malformed file into a reason for the admin.

    pypdf, python-docx and lxml raise a wide, undocumented range of exceptions (KeyError, ValueError,
    struct and zlib errors, RecursionError...) on damaged input, so nothing narrower is safe here.
    """
    try:
        yield
    except BadDocument:
        raise
    except Exception as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise BadDocument(f"{what}: {reason[:200]}") from exc


# ---------------------------------------------------------------------------------------------
# Plain text and markdown
# ---------------------------------------------------------------------------------------------


def _decode_text(data: bytes, charset: str | None) -> str:
    """UTF-8 first (nearly everything is), then the uploader's declared charset, then a guess."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_or_fail(data, "utf-16")  # Windows "Unicode" text; full of NUL bytes by design
    if b"\x00" in data:
        raise BadDocument(
            "The file looks like binary data, not text (it contains NUL bytes). Is it really a text file?"
        )
    for encoding in ("utf-8-sig", charset):
        with suppress(LookupError, UnicodeDecodeError):  # LookupError: an unknown declared charset
            if encoding:
                return data.decode(encoding)
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise BadDocument(
            "The text could not be decoded: the file looks like binary data, not text, or uses a character "
            "encoding Enclave does not recognise. Save it as UTF-8 and upload it again."
        )
    return str(best)


def _decode_or_fail(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadDocument(f"The text could not be decoded as {encoding}: it is damaged near byte {exc.start}.") from exc


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_txt(text: str) -> ParsedDocument:
    blocks: list[Block] = []
    for paragraph in _BLANK_LINE.split(_normalise_newlines(text)):
        _add(blocks, paragraph)
    return ParsedDocument(title="", blocks=blocks, metadata={"format": "txt"})


_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MD_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def _parse_markdown(text: str) -> ParsedDocument:
    """ATX headings become heading paths, fenced code stays whole, other text splits on blank lines."""
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    lines = _normalise_newlines(text).split("\n")
    paragraph: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence, heading, rule = _MD_FENCE.match(line), _MD_HEADING.match(line), _MD_RULE.match(line)
        if fence or heading or rule or not line.strip():  # each of these ends the paragraph so far
            _add(blocks, "\n".join(paragraph), _titles(path))
            paragraph = []
        if fence:
            index = _markdown_code(lines, index, fence.group(1), blocks, _titles(path))
        elif heading:
            _push_heading(path, len(heading.group(1)), _clean(heading.group(2) or ""))
        elif line.strip() and not rule:
            paragraph.append(line)
        index += 1
    _add(blocks, "\n".join(paragraph), _titles(path))
    return ParsedDocument(title="", blocks=blocks, metadata={"format": "md"})


def _markdown_code(lines: list[str], start: int, fence: str, blocks: list[Block], path: tuple[str, ...]) -> int:
    """Add the fenced block opening at ``start`` as one block; return the index of its closing fence."""
    end = start + 1
    while end < len(lines) and not _closes_fence(lines[end], fence):
        end += 1
    code = _clean_code("\n".join(lines[start + 1 : end]))
    if code:
        blocks.append(Block(text=code, heading_path=path))
    return end


def _closes_fence(line: str, fence: str) -> bool:
    """Only a line of the fence's character, at least as long, closes it (```python inside does not)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_HTML_DROPPED = ["script", "style", "nav", "footer", "header", "noscript", "template"]
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HTML_BLOCKS = {"p", "li", "blockquote", "dd", "dt", "figcaption", "caption"}
# Tags inside running text: their words belong to the sentence around them, not to a block of their own.
_HTML_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "img", "ins",
    "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
}  # fmt: skip


def _parse_html(text: str) -> ParsedDocument:
    """Headings become heading paths; paragraphs, list items, table rows and loose text become blocks."""
    with _library_errors("The HTML page could not be read"):
        soup = BeautifulSoup(text, "lxml")
        for tag in soup.find_all(_HTML_DROPPED):
            tag.extract()  # page furniture and code repeat on every page and answer nothing
        walker = _HtmlWalker()
        walker.walk(soup.body or soup)
        walker.flush()
        first_h1 = soup.find("h1")
        title = _html_text(soup.title) if soup.title else ""
        title = title or (_html_text(first_h1) if isinstance(first_h1, Tag) else "")
    return ParsedDocument(title=title, blocks=walker.blocks, metadata={"format": "html"})


def _html_text(tag: Tag) -> str:
    """The words of ``tag``; block tags and <br> break lines so words either side do not run together."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag) and node.name not in _HTML_INLINE:
            parts.append("\n")  # a newline, so _clean joins wrapped Chinese without a space
        elif _is_html_text(node):
            parts.append(str(node))
    return _clean("".join(parts))


def _is_html_text(node: PageElement) -> bool:
    # Comments, CDATA and doctypes are strings to bs4 but not text a reader sees.
    return isinstance(node, NavigableString) and not isinstance(node, PreformattedString)


class _HtmlWalker:
    """Walks the page in document order, so every block knows the headings above it."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.path: list[tuple[int, str]] = []
        self.loose: list[str] = []  # text outside any block tag, gathered until the next block starts

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                self.visit(child)
            elif _is_html_text(child):
                self.loose.append(str(child))

    def flush(self) -> None:
        _add(self.blocks, "".join(self.loose), _titles(self.path))
        self.loose = []

    def visit(self, tag: Tag) -> None:
        if tag.name in _HTML_INLINE:
            self.walk(tag)
            return
        if tag.name == "br":
            self.loose.append("\n")  # a line break inside running text, not the end of a block
            return
        self.flush()  # any other tag starts a new block
        if tag.name in _HTML_HEADINGS:
            _push_heading(self.path, _HTML_HEADINGS[tag.name], _html_text(tag))
        elif tag.name == "pre":
            self._add_code(tag)
        elif tag.name == "tr":
            self._add_row(tag)
        elif tag.name in _HTML_BLOCKS and not _has_block_inside(tag):
            _add(self.blocks, _html_text(tag), _titles(self.path))
        else:
            self.walk(tag)  # a container (div, ul, table, a <li> holding a list...): its parts are the blocks
            self.flush()

    def _add_code(self, tag: Tag) -> None:
        code = _clean_code(tag.get_text())
        if code:
            self.blocks.append(Block(text=code, heading_path=_titles(self.path)))

    def _add_row(self, tag: Tag) -> None:
        cells = [_html_text(cell) for cell in tag.find_all(["td", "th"], recursive=False)]
        if any(cells):
            _add(self.blocks, " | ".join(cells), _titles(self.path))


def _has_block_inside(tag: Tag) -> bool:
    return any(inner.name not in _HTML_INLINE and inner.name != "br" for inner in tag.find_all(True))


# ---------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------


def _parse_pdf(data: bytes) -> ParsedDocument:
    """Each page's paragraphs, tagged with the page number so answers can cite it."""
    with _library_errors("The PDF is damaged or not a PDF"), _pdf_crypto():
        reader = pypdf.PdfReader(io.BytesIO(data))
        _unlock_pdf(reader)
        pages = len(reader.pages)
        blocks = [block for number, page in enumerate(reader.pages, start=1) for block in _pdf_page(page, number)]
        title = _clean(str(reader.metadata.title or "")) if reader.metadata else ""
    if not blocks:
        raise BadDocument(
            f"The PDF has no text Enclave can read (it has {pages} page(s)). It may be a scanned image: "
            "run it through text recognition (OCR) and upload the result."
        )
    return ParsedDocument(title=title, blocks=blocks, metadata={"format": "pdf", "pages": pages})


def _unlock_pdf(reader: pypdf.PdfReader) -> None:
    """Many PDFs are encrypted only to restrict printing or copying, with an empty password to open them."""
    if not reader.is_encrypted:
        return
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise BadDocument("The PDF is password-protected. Remove the password, then upload it again.")


@contextmanager
def _pdf_crypto() -> Iterator[None]:
    """pypdf opens AES-encrypted PDFs only when the optional "cryptography" package is installed.

    It fails when a page is decrypted, not when the file opens, so this wraps page reading too.
    """
    try:
        yield
    except DependencyError as exc:
        raise BadDocument(
            "The PDF is encrypted in a way Enclave cannot open (AES). Save an unprotected copy and upload that."
        ) from exc


def _pdf_page(page: PageObject, number: int) -> list[Block]:
    blocks: list[Block] = []
    with _library_errors(f"The PDF is damaged: page {number} could not be read"), _pdf_crypto():
        text = _normalise_newlines(page.extract_text() or "")
    for paragraph in _BLANK_LINE.split(text):
        _add(blocks, paragraph, page=number)
    return blocks


# ---------------------------------------------------------------------------------------------
# Word (.docx)
# ---------------------------------------------------------------------------------------------

ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_UNPACKED = 200 * MB
ZIP_MAX_RATIO = 100  # real documents compress about 10:1; zeros compress about 1000:1
ZIP_RATIO_FROM = 1 * MB  # small parts can compress very well harmlessly
_DOCX_HEADING = re.compile(r"heading\s*(\d)", re.IGNORECASE)
_NOT_DOCX = "The Word file is damaged or not a .docx file (old .doc files must be saved as .docx first)"


def _parse_docx(data: bytes, max_bytes: int) -> ParsedDocument:
    """Heading and Title paragraphs become heading paths; other paragraphs and table rows become blocks."""
    _check_zip(data, max_bytes)
    with _library_errors(_NOT_DOCX):
        document = docx.Document(io.BytesIO(data))
        blocks = _docx_blocks(document)
        title = _clean(document.core_properties.title or "")
    return ParsedDocument(title=title, blocks=blocks, metadata={"format": "docx"})


def _check_zip(data: bytes, max_bytes: int) -> None:
    """Refuse zip bombs before python-docx inflates anything.

    The central directory's sizes can be trusted as limits: zipfile never inflates an entry past its
    declared size (and fails the CRC check when the real data is longer).
    """
    with _library_errors(_NOT_DOCX), zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
    if len(entries) > ZIP_MAX_ENTRIES:
        raise BadDocument(
            f"The Word file holds {len(entries):,} parts, more than the {ZIP_MAX_ENTRIES:,} a real document has; "
            "it looks like a zip bomb."
        )
    limit = min(50 * max_bytes, ZIP_MAX_UNPACKED)
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limit:
        raise BadDocument(
            f"The Word file would unpack to {_human_size(unpacked)}, over the {_human_size(limit)} limit; "
            "it looks like a zip bomb."
        )
    _check_zip_ratios(entries)


def _check_zip_ratios(entries: list[zipfile.ZipInfo]) -> None:
    for entry in entries:
        ratio = entry.file_size // max(entry.compress_size, 1)
        if entry.file_size > ZIP_RATIO_FROM and ratio > ZIP_MAX_RATIO:
            raise BadDocument(
                f"The Word file's part '{entry.filename}' is compressed {ratio:,}:1 "
                f"(unpacking to {_human_size(entry.file_size)}); it looks like a zip bomb."
            )


def _docx_blocks(document: DocxDocument) -> list[Block]:
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    for item in document.iter_inner_content():  # paragraphs and tables in reading order
        if isinstance(item, Paragraph):
            level = _docx_heading_level(item)
            if level is None:
                _add(blocks, item.text, _titles(path))
            else:
                _push_heading(path, level, _clean(item.text))
        else:
            for row in item.rows:
                _add(blocks, _docx_row(row), _titles(path))
    return blocks


def _docx_heading_level(paragraph: Paragraph) -> int | None:
    """0 for the Title style (above every heading), N for "Heading N", None for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name == "Title":
        return 0
    match = _DOCX_HEADING.match(name)
    return int(match.group(1)) if match else None


def _docx_row(row: _Row) -> str:
    cells: list[_Cell] = []
    for cell in row.cells:
        if not cells or cell is not cells[-1]:  # a merged cell is listed once per column it spans
            cells.append(cell)
    texts = [_clean(cell.text) for cell in cells]
    return " | ".join(texts) if any(texts) else ""
