"""PDF (.pdf): each page's paragraphs, tagged with the page number so answers can cite it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pypdf
from pypdf import PageObject, PasswordType
from pypdf.errors import DependencyError

from knowledge.parsing.base import BadDocument, Block, ParsedDocument, RawFile, library_errors
from knowledge.parsing.blocks import BLANK_LINE, add_block, clean, normalise_newlines


def parse(file: RawFile) -> ParsedDocument:
    with library_errors("The PDF is damaged or not a PDF"), _crypto():
        reader = pypdf.PdfReader(io.BytesIO(file.data))
        _unlock(reader)
        pages = len(reader.pages)
        blocks = [block for number, page in enumerate(reader.pages, start=1) for block in _page(page, number)]
        title = clean(str(reader.metadata.title or "")) if reader.metadata else ""
    if not blocks:
        raise BadDocument(
            f"The PDF has no text Enclave can read (it has {pages} page(s)). It may be a scanned image: "
            "run it through text recognition (OCR) and upload the result."
        )
    return ParsedDocument(title=title, blocks=blocks, metadata={"format": "pdf", "pages": pages})


def _unlock(reader: pypdf.PdfReader) -> None:
    """Many PDFs are encrypted only to restrict printing or copying, with an empty password to open them."""
    if not reader.is_encrypted:
        return
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise BadDocument("The PDF is password-protected. Remove the password, then upload it again.")


@contextmanager
def _crypto() -> Iterator[None]:
    """pypdf opens AES-encrypted PDFs only when the optional "cryptography" package is installed.

    It fails when a page is decrypted, not when the file opens, so this wraps page reading too.
    """
    try:
        yield
    except DependencyError as exc:
        raise BadDocument(
            "The PDF is encrypted in a way Enclave cannot open (AES). Save an unprotected copy and upload that."
        ) from exc


def _page(page: PageObject, number: int) -> list[Block]:
    blocks: list[Block] = []
    with library_errors(f"The PDF is damaged: page {number} could not be read"), _crypto():
        text = normalise_newlines(page.extract_text() or "")
    for paragraph in BLANK_LINE.split(text):
        add_block(blocks, paragraph, page=number)
    return blocks
