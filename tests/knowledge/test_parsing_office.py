"""document_parse on spreadsheets, slide decks, e-mail and Markdown tables built here with the real libraries:
what a reader sees (rows that stand alone, citations that name sheet and rows, slide, message) and the reason
for each bad file."""

from __future__ import annotations

import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from knowledge.parsing import BadDocument, Block, ParsedDocument, document_parse
from knowledge.parsing.tables import BLOCK_BYTES
from knowledge.services.chunking import document_chunk
from tests.knowledge.office_files import (
    Sheet,
    docx_bytes,
    email_message,
    encrypted,
    nested_email,
    ods_bytes,
    pptx_bytes,
    xlsx_bytes,
    zip_bomb,
)

MB = 1024 * 1024
REVENUE: Sheet = ("Revenue", [["Region", "Q3", "Owner"], ["EMEA", 12.4, "Ann"], [], ["APAC", 7, "Bo"]])


def parse(data: bytes, filename: str, *, max_rows: int = 100_000) -> ParsedDocument:
    return document_parse(data=data, filename=filename, max_bytes=50 * MB, max_rows=max_rows)


def refused(data: bytes, filename: str, *, max_rows: int = 100_000) -> str:
    with pytest.raises(BadDocument) as caught:
        parse(data, filename, max_rows=max_rows)
    return str(caught.value)


def sections(parsed: ParsedDocument) -> list[tuple[tuple[str, ...], str]]:
    return [(block.heading_path, block.text) for block in parsed.blocks]


# --- spreadsheets -------------------------------------------------------------------------------


def test_xlsx_rows_repeat_the_header_and_name_their_sheet_and_rows() -> None:
    staff: Sheet = ("Staff", [["Name", "Office"], ["Ann", "Oslo"]])
    parsed = parse(xlsx_bytes([REVENUE, staff]), "q3 figures.xlsx")
    assert sections(parsed) == [
        (("Revenue", "rows 2–4"), "Region: EMEA | Q3: 12.4 | Owner: Ann\nRegion: APAC | Q3: 7 | Owner: Bo"),
        (("Staff", "row 2"), "Name: Ann | Office: Oslo"),
    ]
    assert parsed.title == "q3 figures"  # not "Revenue": a sheet's name is a place, not the document's name
    assert parsed.metadata == {"format": "xlsx", "sheets": ["Revenue", "Staff"], "hidden_sheets": [], "rows": 5}


def test_xlsx_formulas_give_their_saved_values_and_hidden_sheets_are_skipped_and_listed() -> None:
    salaries: Sheet = ("Salaries", [["Name", "Salary"], ["Ann", 91000]])
    figures: Sheet = ("Figures", [["Region", "Q3", "Double"], ["EMEA", 12.4]])
    data = xlsx_bytes([figures], hidden=[salaries], formulas={"C2": ("=B2*2", 24.8)})
    parsed = parse(data, "q3.xlsm")  # a macro-enabled workbook reads the same (its macros never run)
    assert sections(parsed) == [(("Figures", "row 2"), "Region: EMEA | Q3: 12.4 | Double: 24.8")]
    assert parsed.metadata["hidden_sheets"] == ["Salaries"]
    assert "91000" not in " ".join(block.text for block in parsed.blocks)


def test_a_long_sheet_becomes_blocks_of_rows_about_a_chunk_each() -> None:
    rows = [["Invoice", "Amount", "Customer"]] + [[f"INV-{n:05}", n * 10, f"Customer {n}"] for n in range(1, 201)]
    parsed = parse(xlsx_bytes([("Invoices", rows)]), "invoices.xlsx")
    ranges = [tuple(map(int, block.heading_path[1].removeprefix("rows ").split("–"))) for block in parsed.blocks]
    assert len(ranges) > 5 and ranges[0][0] == 2 and ranges[-1][1] == 201
    assert all(next_first == last + 1 for (_, last), (next_first, _) in pairwise(ranges))
    assert all(len(block.text.encode()) <= BLOCK_BYTES for block in parsed.blocks)
    assert "Invoice: INV-00150 | Amount: 1500 | Customer: Customer 150" in "\n".join(b.text for b in parsed.blocks)


def test_ods_sheets_read_like_xlsx_and_hidden_ones_are_listed() -> None:
    data = ods_bytes([("Staff", [["Name", "Days"], ["Ann", 25], ["Bo", 3.5]], False), ("Secret", [["pay"]], True)])
    parsed = parse(data, "leave.ods")
    assert sections(parsed) == [(("Staff", "rows 2–3"), "Name: Ann | Days: 25\nName: Bo | Days: 3.5")]
    assert parsed.metadata["hidden_sheets"] == ["Secret"]


def test_csv_delimiters_are_sniffed_and_tsv_splits_on_tabs() -> None:
    assert sections(parse(b"Region;Q3\nEMEA;12,4\n", "european.csv")) == [(("row 2",), "Region: EMEA | Q3: 12,4")]
    assert sections(parse(b"Region\tQ3\nEMEA\t12.4\nAPAC\t7\n", "q3.tsv")) == [
        (("rows 2–3",), "Region: EMEA | Q3: 12.4\nRegion: APAC | Q3: 7")
    ]


def test_a_csv_in_gb18030_from_a_chinese_excel_reads_correctly() -> None:
    data = "地区,销售额,负责人\n华东,120,张伟\n华北,98,李娜\n".encode("gb18030")
    parsed = parse(data, "销售.csv")
    assert sections(parsed) == [
        (("rows 2–3",), "地区: 华东 | 销售额: 120 | 负责人: 张伟\n地区: 华北 | 销售额: 98 | 负责人: 李娜")
    ]
    assert parsed.title == "销售"


def test_a_million_row_csv_over_the_row_limit_is_refused_quickly() -> None:
    data = b"id,amount\n" + b"".join(b"%d,%d\n" % (n, n * 3) for n in range(1_000_000))
    started = time.perf_counter()
    reason = refused(data, "ledger.csv", max_rows=100_000)
    assert "more than 100,000 rows" in reason and "ENCLAVE_SHEET_MAX_ROWS" in reason
    assert time.perf_counter() - started < 10  # stops at the limit rather than reading a million rows


def test_the_row_limit_counts_every_sheet_of_a_workbook() -> None:
    data = xlsx_bytes([("A", [["n"], *([i] for i in range(60))]), ("B", [["n"], *([i] for i in range(60))])])
    assert "more than 100 rows" in refused(data, "two.xlsx", max_rows=100)
    assert parse(data, "two.xlsx", max_rows=122).metadata["rows"] == 122


@pytest.mark.parametrize(
    ("filename", "data", "kind"),
    [
        ("budget.xlsx", xlsx_bytes([REVENUE]), "spreadsheet"),
        ("deck.pptx", pptx_bytes([{"title": "Plans"}]), "slide deck"),
        ("letter.docx", docx_bytes(), "Word file"),
    ],
)
def test_a_password_protected_office_file_is_refused_as_such(filename: str, data: bytes, kind: str) -> None:
    reason = refused(encrypted(data), filename)
    assert kind in reason and "password-protected" in reason


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    assert "zip bomb" in refused(zip_bomb("xl/worksheets/sheet1.xml"), "bomb.xlsx")


@pytest.mark.parametrize("data", [b"PK\x03\x04 not a zip", b"plain words, not a workbook"])
def test_a_damaged_xlsx_is_refused(data: bytes) -> None:
    assert "damaged or not an .xlsx file" in refused(data, "broken.xlsx")


# --- slide decks --------------------------------------------------------------------------------


def test_pptx_slides_give_titles_text_tables_and_notes_each_citing_its_slide() -> None:
    deck = pptx_bytes(
        [
            {"title": "Quarterly results", "bullets": ["Revenue grew 12%", "Costs fell"], "notes": "Mention Oslo."},
            {"title": "Headcount", "table": [["Office", "Staff"], ["Oslo", "12"], ["Lima", "7"]]},
            {"title": "", "grouped": "Questions welcome"},
        ]
    )
    parsed = parse(deck, "q3.pptx")
    results, headcount = ("Slide 1", "Quarterly results"), ("Slide 2", "Headcount")
    assert [(b.heading_path, b.page, b.text) for b in parsed.blocks] == [
        (results, 1, "Quarterly results"),
        (results, 1, "Revenue grew 12%"),
        (results, 1, "Costs fell"),
        (results, 1, "Speaker notes: Mention Oslo."),
        (headcount, 2, "Headcount"),
        (headcount, 2, "Office: Oslo | Staff: 12\nOffice: Lima | Staff: 7"),
        (("Slide 3",), 3, "Questions welcome"),
    ]
    assert parsed.title == "Quarterly results"
    assert parsed.metadata == {"format": "pptx", "slides": 3}


@pytest.mark.parametrize("data", [b"PK\x03\x04 not a zip", pptx_bytes([{"title": "x"}])[:2000]])
def test_a_corrupt_pptx_is_refused_with_the_reason(data: bytes) -> None:
    assert "slide deck is damaged or not a .pptx file" in refused(data, "broken.pptx")


# --- e-mail -------------------------------------------------------------------------------------


def test_an_email_gives_its_headers_as_metadata_and_a_block_and_its_body_under_the_message() -> None:
    parsed = parse(bytes(email_message()), "budget.eml")
    message = ("Q3 budget (Alice Smith, 2024-03-01)",)
    assert sections(parsed) == [
        (
            message,
            "From: Alice Smith <alice@example.com>\nTo: Bob Jones <bob@example.com>\n"
            "Date: 2024-03-01T10:00:00+00:00\nSubject: Q3 budget",
        ),
        (message, "Hi Bob,"),
        (message, "The Q3 budget is attached."),
        (message, "Alice"),
    ]
    assert parsed.title == "Q3 budget"
    assert parsed.metadata["from"] == "Alice Smith <alice@example.com>"
    assert parsed.metadata["date"] == "2024-03-01T10:00:00+00:00"


def test_an_html_only_email_body_is_read_as_a_web_page_and_encoded_subjects_are_decoded() -> None:
    message = email_message("年假安排", html="<h2>Leave</h2><p>Book <b>early</b>.</p><script>x()</script>")
    parsed = parse(bytes(message), "leave.eml")
    assert parsed.title == "年假安排"
    assert sections(parsed)[1:] == [(("年假安排 (Alice Smith, 2024-03-01)", "Leave"), "Book early.")]


def test_attachments_are_read_by_their_own_parsers_and_unreadable_ones_are_listed() -> None:
    message = email_message()
    message.add_attachment(xlsx_bytes([REVENUE]), maintype="application", subtype="octet-stream", filename="q3.xlsx")
    message.add_attachment(b"\x89PNG\r\n\x1a\n....", maintype="image", subtype="png", filename="logo.png")
    parsed = parse(bytes(message), "budget.eml")
    attachment = [b for b in parsed.blocks if "attachment q3.xlsx" in b.heading_path]
    assert [(b.heading_path, b.text.splitlines()[0]) for b in attachment] == [
        (
            ("Q3 budget (Alice Smith, 2024-03-01)", "attachment q3.xlsx", "Revenue", "rows 2–4"),
            "Region: EMEA | Q3: 12.4 | Owner: Ann",
        )
    ]
    assert parsed.metadata["attachments"] == ["q3.xlsx"]
    [skipped] = parsed.metadata["skipped_attachments"]
    assert skipped["name"] == "logo.png" and "Unsupported file type '.png'" in skipped["reason"]


def test_an_email_attached_inside_an_email_is_read_a_few_levels_down() -> None:
    parsed = parse(nested_email(3), "forwarded.eml")
    innermost = [b for b in parsed.blocks if b.text == "The innermost message."]
    assert len(innermost) == 1 and len(innermost[0].heading_path) == 7  # 4 messages, 3 "attachment ..." steps
    assert innermost[0].heading_path[-1] == "Level 0 (Alice Smith, 2024-03-01)"


def test_an_email_nested_twenty_deep_is_refused_with_the_reason() -> None:
    reason = refused(nested_email(20), "matryoshka.eml")
    assert "more than 5 levels deep" in reason


def test_an_attachment_named_like_a_system_path_is_only_a_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = email_message()
    message.add_attachment(b"not the real password file", maintype="text", subtype="plain", filename="../../etc/passwd")
    opened: list[str] = []
    watching = [True]

    def watch(event: str, args: tuple[object, ...]) -> None:
        if watching[0] and event == "open":
            opened.append(str(args[0]))

    sys.addaudithook(watch)  # hooks cannot be removed: this one goes quiet after the parse
    monkeypatch.chdir(tmp_path)
    try:
        parsed = parse(bytes(message), "budget.eml")
    finally:
        watching[0] = False
    [block] = [b for b in parsed.blocks if "attachment ../../etc/passwd" in b.heading_path]
    assert block.text == "not the real password file"
    assert not [path for path in opened if "passwd" in path or path.startswith(str(tmp_path))]
    assert list(tmp_path.iterdir()) == []


def test_an_mbox_is_one_document_with_a_section_per_message_and_a_hostile_message_is_skipped() -> None:
    lunch = email_message("Lunch on Friday", "Pizza at noon in room 4.", sender="Bob Jones <bob@example.com>")
    mailbox = b"".join(
        b"From someone@example.com Fri Mar  1 10:00:00 2024\n" + raw + b"\n"
        for raw in (bytes(email_message()), nested_email(20), bytes(lunch))
    )
    parsed = parse(mailbox, "team.mbox")
    assert parsed.title == "team"
    assert {b.heading_path[0] for b in parsed.blocks} == {
        "Q3 budget (Alice Smith, 2024-03-01)",
        "Lunch on Friday (Bob Jones, 2024-03-01)",
    }
    assert "Pizza at noon in room 4." in [b.text for b in parsed.blocks]
    assert parsed.metadata["messages"] == 3
    [skipped] = parsed.metadata["skipped"]
    assert skipped["message"] == 2 and "levels deep" in skipped["reason"]


def test_a_file_named_mbox_that_is_not_a_mailbox_is_refused() -> None:
    assert "not a mailbox" in refused(b"Subject: hi\n\nhello", "mail.mbox")


# --- tables in Markdown and HTML, through chunking ----------------------------------------------


def words(text: str) -> int:
    return len(text.split())


def test_a_markdown_table_keeps_a_line_per_row_in_its_block_and_its_chunk() -> None:
    markdown = (
        "# Costs\n\nBudgets by region:\n| Region | Q3 |\n|:--|--:|\n| EMEA | 12.4 |\n| APAC | 7 \\| 8 |\n\nEnd.\n"
    )
    parsed = parse(markdown.encode(), "costs.md")
    assert parsed.blocks == [
        Block("Budgets by region:", ("Costs",)),
        Block("Region | Q3\nEMEA | 12.4\nAPAC | 7 | 8", ("Costs",)),
        Block("End.", ("Costs",)),
    ]
    [chunk] = document_chunk(parsed.blocks, count_tokens=words, max_tokens=100, overlap_tokens=0)
    assert chunk.text == "Budgets by region:\n\nRegion | Q3\nEMEA | 12.4\nAPAC | 7 | 8\n\nEnd."


def test_a_table_too_long_for_one_chunk_is_cut_between_rows() -> None:
    rows = "\n".join(f"| Office {n} | {n} staff |" for n in range(40))
    parsed = parse(f"| Office | Staff |\n|---|---|\n{rows}\n".encode(), "offices.md")
    chunks = document_chunk(parsed.blocks, count_tokens=words, max_tokens=30, overlap_tokens=0)
    assert len(chunks) > 1
    for chunk in chunks:
        assert all(line.startswith("Office") for line in chunk.text.splitlines())


def test_html_table_rows_stay_one_to_a_line_in_their_chunk() -> None:
    html = b"<table><tr><th>Region</th><th>Q3</th></tr><tr><td>EMEA</td><td>12.4</td></tr></table>"
    [chunk] = document_chunk(parse(html, "q3.html").blocks, count_tokens=words, max_tokens=100, overlap_tokens=0)
    assert chunk.text.split("\n\n") == ["Region | Q3", "EMEA | 12.4"]


def test_a_spreadsheet_block_becomes_one_chunk_labelled_with_its_rows() -> None:
    parsed = parse(xlsx_bytes([REVENUE]), "q3.xlsx")
    [chunk] = document_chunk(parsed.blocks, count_tokens=words, max_tokens=200, overlap_tokens=40)
    assert chunk.metadata["section"] == "Revenue > rows 2–4"
    assert chunk.text == "Region: EMEA | Q3: 12.4 | Owner: Ann\nRegion: APAC | Q3: 7 | Owner: Bo"
