"""document_parse on real files built here: what an admin sees for good files, and the reason for bad ones."""

from __future__ import annotations

import io
import zipfile

import docx
import pypdf
import pytest
from fpdf import FPDF

from knowledge.parsing import FORMATS, BadDocument, Block, ParsedDocument, document_parse

MB = 1024 * 1024
LEAVE_ZH = "年假政策。员工每年享有十五天带薪年假。"
SICK_ZH = "病假政策。员工每年享有十天带薪病假。需提供医生证明。"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def parse(data: bytes, filename: str, content_type: str | None = None, max_bytes: int = 10 * MB) -> ParsedDocument:
    return document_parse(data=data, filename=filename, content_type=content_type, max_bytes=max_bytes)


def refused(data: bytes, filename: str, content_type: str | None = None, max_bytes: int = 10 * MB) -> str:
    """The reason document_parse gives for refusing the file."""
    with pytest.raises(BadDocument) as caught:
        parse(data, filename, content_type, max_bytes)
    return str(caught.value)


def texts(parsed: ParsedDocument) -> list[str]:
    return [block.text for block in parsed.blocks]


# --- builders -----------------------------------------------------------------------------------


def two_page_pdf(title: str | None = "Staff Handbook") -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 10, "Annual leave is fifteen days.")
    pdf.add_page()
    pdf.cell(0, 10, "Sick leave needs a doctor's note.")
    return bytes(pdf.output())


def encrypted_pdf(user_password: str, owner_password: str | None = None) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(two_page_pdf()))
    writer.encrypt(user_password, owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def handbook_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Staff Handbook", level=0)  # level 0 is the Title style
    document.add_paragraph("Welcome to the company.")
    document.add_heading("Leave", level=1)
    document.add_heading("Annual leave", level=2)
    document.add_paragraph(LEAVE_ZH)
    document.add_heading("Contacts", level=1)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Name", "Phone"), ("HR desk", "555-0100")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_with_extra_member(name: str, size: int, compresslevel: int) -> bytes:
    """A real docx plus one member of ``size`` zero bytes, streamed so the test stays fast and small."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(handbook_docx())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as bomb,
    ):
        for entry in source.infolist():
            bomb.writestr(entry, source.read(entry))
        with bomb.open(name, "w") as member:
            chunk = bytes(4 * MB)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return out.getvalue()


# --- plain text ---------------------------------------------------------------------------------


def test_text_paragraphs_split_on_blank_lines_and_the_title_is_the_file_name() -> None:
    data = b"First   paragraph\nwraps here.\r\n\r\nSecond paragraph.\n  \n\n\nThird."
    parsed = parse(data, "notes/Office hours.txt")
    assert texts(parsed) == ["First paragraph wraps here.", "Second paragraph.", "Third."]
    assert all(block.heading_path == () and block.page is None for block in parsed.blocks)
    assert parsed.title == "Office hours"
    assert parsed.metadata == {"format": "txt"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_chinese_text_comes_through_intact_in_any_common_encoding(encoding: str) -> None:
    data = f"{LEAVE_ZH}\n\n{SICK_ZH}".encode(encoding)
    assert texts(parse(data, "假期.txt")) == [LEAVE_ZH, SICK_ZH]


def test_chinese_lines_wrapped_mid_sentence_join_without_a_space() -> None:
    assert texts(parse("年假政策。员工每年享有\n十五天带薪年假。".encode(), "leave.txt")) == [LEAVE_ZH]


def test_a_charset_in_the_content_type_is_used_for_decoding() -> None:
    data = "Café menu: crème brûlée.".encode("latin-1")
    assert texts(parse(data, "menu.txt", content_type="text/plain; charset=ISO-8859-1")) == ["Café menu: crème brûlée."]


# --- markdown -----------------------------------------------------------------------------------


MARKDOWN = f"""# Staff Handbook

Read this first.

## 年假

{LEAVE_ZH}
Ask your manager.

```python
def days_left(used):
    return 15 - used
```

### Carry-over ###
Five days carry over.

## Sick leave

{SICK_ZH}
"""


def test_markdown_headings_become_heading_paths_not_blocks() -> None:
    parsed = parse(MARKDOWN.encode(), "handbook.md")
    assert [(block.text, block.heading_path) for block in parsed.blocks] == [
        ("Read this first.", ("Staff Handbook",)),
        (f"{LEAVE_ZH} Ask your manager.", ("Staff Handbook", "年假")),
        ("def days_left(used):\n    return 15 - used", ("Staff Handbook", "年假")),
        ("Five days carry over.", ("Staff Handbook", "年假", "Carry-over")),
        (SICK_ZH, ("Staff Handbook", "Sick leave")),
    ]
    assert parsed.title == "Staff Handbook"
    assert parsed.metadata == {"format": "md"}


def test_markdown_hash_without_a_space_is_text_and_an_unclosed_fence_runs_to_the_end() -> None:
    parsed = parse(b"#hashtag is not a heading\n\n~~~\ncode\n```\nstill code", "notes.markdown")
    assert texts(parsed) == ["#hashtag is not a heading", "code\n```\nstill code"]
    assert parsed.title == "notes"


# --- HTML ---------------------------------------------------------------------------------------


HTML = """<!DOCTYPE html>
<html><head><title>员工手册</title><style>p { color: red }</style></head>
<body>
<header><h1>Intranet</h1></header>
<nav><a href="/">Home</a></nav>
Welcome, <b>staff</b>!
<h1>Policies</h1>
<h2>年假</h2>
<p>年假政策。<br>员工每年享有<b>十五天</b>带薪年假。</p>
<ul><li>Book leave early.</li><li>Tell your team.</li></ul>
<table><tr><th>Type</th><th>Days</th></tr><tr><td>Annual</td><td>15</td></tr></table>
<h2>Forms</h2>
<blockquote>Managers approve within a week.</blockquote>
<pre>form_id = 7
  print(form_id)</pre>
<!-- hidden comment -->
<script>track();</script><noscript>Enable JavaScript</noscript>
<footer>Copyright</footer>
</body></html>"""


def test_html_keeps_headings_paragraphs_lists_and_table_rows_and_drops_page_furniture() -> None:
    parsed = parse(HTML.encode(), "handbook.html")
    leave, forms = ("Policies", "年假"), ("Policies", "Forms")
    assert [(block.text, block.heading_path) for block in parsed.blocks] == [
        ("Welcome, staff!", ()),
        (LEAVE_ZH, leave),
        ("Book leave early.", leave),
        ("Tell your team.", leave),
        ("Type | Days", leave),
        ("Annual | 15", leave),
        ("Managers approve within a week.", forms),
        ("form_id = 7\n  print(form_id)", forms),
    ]
    assert parsed.title == "员工手册"
    assert parsed.metadata == {"format": "html"}
    everything = " ".join(texts(parsed))
    for furniture in ("Intranet", "Home", "track", "JavaScript", "Copyright", "hidden comment", "color"):
        assert furniture not in everything


def test_html_without_a_title_tag_takes_its_title_from_the_first_h1() -> None:
    parsed = parse(b"<h1>Expenses</h1><p>Keep receipts.</p>", "page.htm")
    assert parsed.title == "Expenses"
    assert parsed.blocks == [Block(text="Keep receipts.", heading_path=("Expenses",))]


def test_html_line_breaks_and_nested_lists_do_not_merge_or_split_blocks_wrongly() -> None:
    html = f"<div>{LEAVE_ZH[:5]}<br>{LEAVE_ZH[5:]}</div><ul><li>Leave<ul><li>Annual</li></ul></li></ul>"
    assert texts(parse(html.encode(), "list.html")) == [LEAVE_ZH, "Leave", "Annual"]


def test_html_with_no_text_is_refused() -> None:
    assert "no readable text" in refused(b"<html><body><img src='x.png'><script>x()</script></body></html>", "a.html")


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_blocks_carry_their_page_numbers_and_the_title_comes_from_the_metadata() -> None:
    parsed = parse(two_page_pdf(), "handbook.pdf")
    assert [(block.text, block.page) for block in parsed.blocks] == [
        ("Annual leave is fifteen days.", 1),
        ("Sick leave needs a doctor's note.", 2),
    ]
    assert parsed.title == "Staff Handbook"
    assert parsed.metadata == {"format": "pdf", "pages": 2}


def test_pdf_without_a_metadata_title_is_named_after_the_file() -> None:
    assert parse(two_page_pdf(title=None), "Leave 2025.PDF").title == "Leave 2025"


def test_pdf_encrypted_only_against_editing_opens_with_the_empty_password() -> None:
    parsed = parse(encrypted_pdf(user_password="", owner_password="owner-only"), "locked-for-editing.pdf")
    assert [block.page for block in parsed.blocks] == [1, 2]


def test_password_protected_pdf_is_refused() -> None:
    assert "password-protected" in refused(encrypted_pdf(user_password="secret"), "secret.pdf")


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)) * 16, two_page_pdf()[:700]],
    ids=["random-bytes", "truncated-pdf"],
)
def test_damaged_pdf_is_refused_with_the_reason(data: bytes) -> None:
    reason = refused(data, "report.pdf")
    assert reason.startswith("The PDF is damaged or not a PDF: ")
    assert len(reason) > len("The PDF is damaged or not a PDF: ")


def test_pdf_with_no_text_is_refused_as_a_possible_scan() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    reason = refused(bytes(pdf.output()), "scan.pdf")
    assert "no text" in reason
    assert "scanned image" in reason


# --- Word ---------------------------------------------------------------------------------------


def test_docx_title_and_headings_become_heading_paths_and_table_rows_become_blocks() -> None:
    parsed = parse(handbook_docx(), "handbook.docx")
    assert [(block.text, block.heading_path) for block in parsed.blocks] == [
        ("Welcome to the company.", ("Staff Handbook",)),
        (LEAVE_ZH, ("Staff Handbook", "Leave", "Annual leave")),
        ("Name | Phone", ("Staff Handbook", "Contacts")),
        ("HR desk | 555-0100", ("Staff Handbook", "Contacts")),
    ]
    assert parsed.title == "Staff Handbook"
    assert parsed.metadata == {"format": "docx"}


def test_docx_core_properties_title_wins_and_merged_cells_appear_once() -> None:
    document = docx.Document()
    document.core_properties.title = "Phone list"
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Reception"
    table.cell(0, 2).text = "555-0199"
    out = io.BytesIO()
    document.save(out)
    parsed = parse(out.getvalue(), "phones.docx")
    assert parsed.title == "Phone list"
    assert texts(parsed) == ["Reception | 555-0199"]


def test_corrupt_docx_is_refused() -> None:
    assert "damaged or not a .docx" in refused(bytes(range(256)) * 16, "letter.docx")


def test_zip_that_is_not_a_word_document_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a document")
    assert "damaged or not a .docx" in refused(out.getvalue(), "letter.docx")


def test_docx_that_unpacks_to_hundreds_of_megabytes_is_refused_before_it_is_unpacked() -> None:
    data = docx_with_extra_member("word/media/image1.png", 300 * MB, compresslevel=1)
    assert len(data) < 2 * MB  # small on disk: the danger is only in unpacking
    reason = refused(data, "bomb.docx")
    assert "zip bomb" in reason
    assert "unpack to 300" in reason
    assert "200 MB" in reason


def test_docx_with_an_extremely_compressed_part_is_refused() -> None:
    reason = refused(docx_with_extra_member("word/media/image1.png", 8 * MB, compresslevel=9), "bomb.docx")
    assert "zip bomb" in reason
    assert "word/media/image1.png" in reason


def test_docx_with_too_many_parts_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(10_001):
            archive.writestr(f"word/part{number}.xml", b"")
    assert "zip bomb" in refused(out.getvalue(), "many.docx")


# --- refusals common to all formats ---------------------------------------------------------------


def test_empty_file_is_refused() -> None:
    assert "empty" in refused(b"", "blank.pdf")


@pytest.mark.parametrize("filename", ["blank.txt", "blank.md", "blank.html"])
def test_whitespace_only_text_file_is_refused_as_empty(filename: str) -> None:
    assert "empty" in refused(b" \n\t\r\n  \n", filename)


def test_file_over_the_size_limit_is_refused_with_its_size_and_the_limit() -> None:
    reason = refused(b"x" * (3 * MB), "big.txt", max_bytes=2 * MB)
    assert "3 MB" in reason
    assert "2 MB limit" in reason
    assert "KB limit" in refused(b"x" * 2048, "big.txt", max_bytes=1024)


@pytest.mark.parametrize("filename", ["photo.txt", "photo.md"])
def test_binary_data_named_as_text_is_refused(filename: str) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    assert "looks like binary data, not text" in refused(png, filename)


def test_text_in_no_recognisable_encoding_is_refused() -> None:
    reason = refused(bytes(range(1, 256)) * 4, "notes.txt")
    assert "could not be decoded" in reason
    assert "looks like binary data, not text" in reason


def test_damaged_utf16_text_is_refused() -> None:
    assert "could not be decoded" in refused("Hello".encode("utf-16") + b"\x00", "windows.txt")


def test_unknown_extension_is_refused_naming_it_and_the_supported_types() -> None:
    reason = refused(b"PK\x03\x04 drawing", "plan.vsdx")
    assert "'.vsdx'" in reason
    for extension in (".txt", ".md", ".html", ".pdf", ".docx", ".xlsx", ".pptx", ".eml"):
        assert extension in reason


def test_each_extension_and_content_type_selects_one_format() -> None:
    # A format added with another's extension or type would silently take those files over.
    extensions = [extension for fmt in FORMATS.values() for extension in fmt.extensions]
    content_types = [content_type for fmt in FORMATS.values() for content_type in fmt.content_types]
    assert len(extensions) == len(set(extensions))
    assert len(content_types) == len(set(content_types))
    # Both are matched in lower case.
    assert all(extension == extension.lower() and extension.startswith(".") for extension in extensions)
    assert all(content_type == content_type.lower() for content_type in content_types)


def test_no_extension_and_an_unknown_content_type_is_refused() -> None:
    reason = refused(b"hello", "README", content_type="application/octet-stream")
    assert "no extension" in reason
    assert ".docx" in reason


@pytest.mark.parametrize(
    ("filename", "content_type", "data", "fmt"),
    [
        ("README", "text/markdown; charset=utf-8", b"# Read me\n\nHello.", "md"),
        ("upload.bin", "text/html; charset=gb18030", f"<p>{LEAVE_ZH}</p>".encode("gb18030"), "html"),
        ("download", "application/pdf", two_page_pdf(), "pdf"),
        ("attachment", DOCX_TYPE, handbook_docx(), "docx"),
        ("notes", "TEXT/PLAIN", b"Plain words.", "txt"),
    ],
)
def test_missing_or_unknown_extension_falls_back_to_the_content_type(
    filename: str, content_type: str, data: bytes, fmt: str
) -> None:
    parsed = parse(data, filename, content_type=content_type)
    assert parsed.metadata["format"] == fmt
    assert parsed.blocks


def test_content_type_charset_decodes_chinese_html() -> None:
    data = f"<p>{LEAVE_ZH}</p>".encode("gb18030")
    assert texts(parse(data, "page.html", content_type="text/html; charset=gb18030")) == [LEAVE_ZH]
