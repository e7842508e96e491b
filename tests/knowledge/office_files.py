"""Spreadsheets, slide decks and e-mails built here with the real libraries, for the parsing and ingestion tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from email.message import EmailMessage

import docx
import msoffcrypto.format.ooxml
import pptx
import xlsxwriter
from pptx.util import Inches

Sheet = tuple[str, Sequence[Sequence[object]]]  # a sheet's name and its rows from A1


def xlsx_bytes(
    sheets: Sequence[Sheet], *, hidden: Sequence[Sheet] = (), formulas: dict[str, tuple[str, float]] | None = None
) -> bytes:
    """A workbook as Excel saves it. ``formulas`` maps a cell of the first sheet ("C2") to a formula and the
    value Excel saved with it, which XlsxWriter (unlike openpyxl) can write."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for number, (name, rows) in enumerate([*sheets, *hidden]):
        sheet = book.add_worksheet(name)
        for index, row in enumerate(rows):
            sheet.write_row(index, 0, row)
        if number == 0:
            for cell, (formula, value) in (formulas or {}).items():
                sheet.write_formula(cell, formula, None, value)
        if number >= len(sheets):
            sheet.hide()
    book.close()
    return buffer.getvalue()


def encrypted(data: bytes, password: str = "secret") -> bytes:  # noqa: S107 (a test file's password)
    """An Office file password-protected as Office does it: the zip encrypted inside an OLE compound file."""
    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Dear Bob, the contract is attached.")
    document.save(buffer)
    return buffer.getvalue()


def zip_bomb(part: str, uncompressed_mb: int = 300) -> bytes:
    """An Office-shaped zip whose one part inflates to hundreds of MB from well under 1 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open(part, "w") as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(uncompressed_mb):
                entry.write(block)
    return buffer.getvalue()


def ods_bytes(sheets: Sequence[tuple[str, Sequence[Sequence[object]], bool]]) -> bytes:
    """An OpenDocument spreadsheet written as its specification lays it out; each sheet (name, rows, hidden)."""
    tables = "".join(_ods_table(name, rows, hidden) for name, rows, hidden in sheets)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.2">'
        '<office:automatic-styles><style:style style:name="hidden" style:family="table">'
        '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    mimetype = "application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
        ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype)  # first and stored, as the specification asks
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def _ods_table(name: str, rows: Sequence[Sequence[object]], hidden: bool) -> str:
    style = ' table:style-name="hidden"' if hidden else ""
    cells = ["".join(_ods_cell(value) for value in row) for row in rows]
    return (
        f'<table:table table:name="{name}"{style}>'
        + "".join(f"<table:table-row>{row}</table:table-row>" for row in cells)
        + "</table:table>"
    )


def _ods_cell(value: object) -> str:
    if isinstance(value, int | float):
        kind = f'office:value-type="float" office:value="{value}"'
    else:
        kind = 'office:value-type="string"'
    return f"<table:table-cell {kind}><text:p>{value}</text:p></table:table-cell>"


def pptx_bytes(slides: Sequence[dict[str, object]]) -> bytes:
    """A deck with a slide per dict: "title", "bullets" (list), "table" (rows), "notes", "grouped" (text in a group)."""
    deck = pptx.Presentation()
    for spec in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1 if "bullets" in spec else 5])
        slide.shapes.title.text = str(spec.get("title", ""))
        if "bullets" in spec:
            slide.placeholders[1].text_frame.text = "\n".join(spec["bullets"])  # type: ignore[arg-type]
        if "table" in spec:
            rows: list[list[str]] = spec["table"]  # type: ignore[assignment]
            table = slide.shapes.add_table(len(rows), len(rows[0]), Inches(1), Inches(2), Inches(6), Inches(2)).table
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        if "grouped" in spec:
            group = slide.shapes.add_group_shape()
            group.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1)).text_frame.text = str(spec["grouped"])
        if "notes" in spec:
            slide.notes_slide.notes_text_frame.text = str(spec["notes"])
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def email_message(
    subject: str = "Q3 budget",
    body: str = "Hi Bob,\n\nThe Q3 budget is attached.\n\nAlice",
    *,
    sender: str = "Alice Smith <alice@example.com>",
    html: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Bob Jones <bob@example.com>"
    message["Date"] = "Fri, 01 Mar 2024 10:00:00 +0000"
    message["Subject"] = subject
    if html is None:
        message.set_content(body)
    else:
        message.set_content(html, subtype="html")
    return message


def nested_email(depth: int) -> bytes:
    """An e-mail whose attachment is an e-mail whose attachment is an e-mail... ``depth`` levels down."""
    inner = email_message("Level 0", "The innermost message.")
    for level in range(1, depth + 1):
        outer = email_message(f"Level {level}", f"Forwarding level {level - 1}.")
        outer.add_attachment(inner)  # attached as message/rfc822, as mail programs forward
        inner = outer
    return bytes(inner)
