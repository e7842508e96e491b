"""What every format shares: the result types, the error, and the guards against unusable files.

Every way a file can be unusable raises BadDocument with a reason written for a knowledge admin;
the ingestion service stores that reason on the document and carries on with the others.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import charset_normalizer

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


def _no_attachments(data: bytes, filename: str, content_type: str | None) -> ParsedDocument:
    raise BadDocument(f"The attachment {filename!r} cannot be read here.")


@dataclass(frozen=True)
class RawFile:
    """What a format's parser is given: bytes already known to be neither empty nor over the limit."""

    data: bytes
    max_bytes: int  # the upload limit, which also bounds what an archive may unpack to
    charset: str | None = None  # declared with the upload's content type; text formats try it after UTF-8
    max_rows: int = 100_000  # spreadsheets: the most rows with content a file may have
    depth: int = 0  # how many e-mails this file is attached inside (0: the uploaded file itself)
    # Parses a file attached to this one by its own format, one level deeper (document_parse supplies it:
    # the format modules cannot import the registry that imports them).
    attachment_parse: Callable[[bytes, str, str | None], ParsedDocument] = _no_attachments


# Each format module's ``parse``: the file's blocks (its title may be left empty), or BadDocument.
Parser = Callable[[RawFile], ParsedDocument]

MB = 1024 * 1024


def check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise BadDocument("The file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise BadDocument(f"The file is {human_size(len(data))}, over the {human_size(max_bytes)} limit.")


def human_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    return f"{max(size / 1024, 0.1):.1f}".removesuffix(".0") + " KB"


@contextmanager
def library_errors(what: str) -> Iterator[None]:
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
# Text formats: bytes to text
# ---------------------------------------------------------------------------------------------


def read_text(file: RawFile) -> str:
    """The file decoded as text, refused when it is binary, undecodable, or only blank lines."""
    text = _decode_text(file.data, file.charset)
    if not text.strip():
        raise BadDocument("The file is empty: it contains only spaces and blank lines.")
    return text


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
    guesses = charset_normalizer.from_bytes(data)
    best = guesses.best()
    if best is None:
        raise BadDocument(
            "The text could not be decoded: the file looks like binary data, not text, or uses a character "
            "encoding Enclave does not recognise. Save it as UTF-8 and upload it again."
        )
    # A short Chinese text (a three-row CSV) is as plausible in Korean cp949 as in GB18030 to the detector.
    # Enclave's languages are English and Chinese, so among equally good guesses GB18030 wins.
    tied = [guess for guess in guesses if (guess.chaos, guess.coherence) == (best.chaos, best.coherence)]
    return str(next((guess for guess in tied if guess.encoding == "gb18030"), best))


def _decode_or_fail(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadDocument(f"The text could not be decoded as {encoding}: it is damaged near byte {exc.start}.") from exc


# ---------------------------------------------------------------------------------------------
# Zip-based formats (Office, OpenDocument): refusing zip bombs and password-protected files
# ---------------------------------------------------------------------------------------------

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# Office encrypts a .docx/.xlsx/.pptx by wrapping the zip in an OLE compound file with these streams;
# their names are stored in UTF-16 in the file's directory.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def check_not_encrypted(file: RawFile, kind: str) -> None:
    """Refuse a password-protected Office file with that reason, not as "damaged"."""
    if file.data.startswith(_OLE_MAGIC) and _ENCRYPTED_PACKAGE in file.data:
        raise BadDocument(f"{kind} is password-protected. Save a copy without the password, then upload that.")


ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_UNPACKED = 200 * MB
ZIP_MAX_RATIO = 100  # real documents compress about 10:1; zeros compress about 1000:1
ZIP_RATIO_FROM = 1 * MB  # small parts can compress very well harmlessly


def check_zip(file: RawFile, *, kind: str, unreadable: str) -> None:
    """Refuse zip bombs before the format's library inflates anything.

    ``kind`` names the file in the reasons ("The Word file"); ``unreadable`` is the reason given
    when the bytes are not a zip archive at all. The central directory's sizes can be trusted as
    limits: zipfile never inflates an entry past its declared size (and fails the CRC check when
    the real data is longer).
    """
    check_not_encrypted(file, kind)
    with library_errors(unreadable), zipfile.ZipFile(io.BytesIO(file.data)) as archive:
        entries = archive.infolist()
    if len(entries) > ZIP_MAX_ENTRIES:
        raise BadDocument(
            f"{kind} holds {len(entries):,} parts, more than the {ZIP_MAX_ENTRIES:,} a real document has; "
            "it looks like a zip bomb."
        )
    limit = min(50 * file.max_bytes, ZIP_MAX_UNPACKED)
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limit:
        raise BadDocument(
            f"{kind} would unpack to {human_size(unpacked)}, over the {human_size(limit)} limit; "
            "it looks like a zip bomb."
        )
    _check_zip_ratios(entries, kind)


def _check_zip_ratios(entries: list[zipfile.ZipInfo], kind: str) -> None:
    for entry in entries:
        ratio = entry.file_size // max(entry.compress_size, 1)
        if entry.file_size > ZIP_RATIO_FROM and ratio > ZIP_MAX_RATIO:
            raise BadDocument(
                f"{kind}'s part '{entry.filename}' is compressed {ratio:,}:1 "
                f"(unpacking to {human_size(entry.file_size)}); it looks like a zip bomb."
            )
