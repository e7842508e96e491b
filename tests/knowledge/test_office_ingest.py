"""A spreadsheet, a slide deck and e-mails uploaded through the upload service and ingested with the real
parsers, chunker, embedding model and database: search finds the rows or the slide that alone answers a
question, the chat's citation label names the sheet and rows or the slide, and bad files fail on their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.templatetags.chat import location_of
from core.rls import acting_as_system
from knowledge.models import Chunk, Document, Source
from knowledge.parsing import Block, document_parse
from knowledge.selectors.search import chunk_search
from knowledge.services.grants import grant_create
from knowledge.services.ingest import Outcome
from knowledge.services.sources import document_upload, source_ensure
from tests.conftest import People
from tests.knowledge.helpers import chunks_of, documents_by_uri, sync_inline
from tests.knowledge.office_files import email_message, encrypted, nested_email, pptx_bytes, xlsx_bytes, zip_bomb

pytestmark = pytest.mark.django_db

CITIES = [
    ("Oslo", "Norway"), ("Lima", "Peru"), ("Nairobi", "Kenya"), ("Osaka", "Japan"), ("Lyon", "France"),
    ("Porto", "Portugal"), ("Austin", "United States"), ("Cork", "Ireland"), ("Gdansk", "Poland"),
    ("Tartu", "Estonia"), ("Perth", "Australia"), ("Quito", "Ecuador"), ("Accra", "Ghana"), ("Hanoi", "Vietnam"),
    ("Leeds", "United Kingdom"), ("Malmo", "Sweden"), ("Turin", "Italy"), ("Bergen", "Norway"),
    ("Graz", "Austria"), ("Reykjavik", "Iceland"), ("Tbilisi", "Georgia"), ("Cusco", "Peru"),
    ("Dakar", "Senegal"), ("Pune", "India"), ("Busan", "South Korea"), ("Halifax", "Canada"),
]  # fmt: skip
OFFICES: list[list[object]] = [
    ["Office", "Country", "Staff", "Opened"],
    *([city, country, 10 + 3 * n, 2000 + n] for n, (city, country) in enumerate(CITIES)),
]
BUDGET: list[list[object]] = [
    ["Item", "2025 budget (EUR)"],
    ["Travel", 84000],
    ["Training", 42000],
    ["Software licences", 131000],
]
SALARIES: list[list[object]] = [["Role", "Salary"], ["Reykjavik office manager", 150000]]
DECK: list[dict[str, object]] = [
    {"title": "Strategy 2025", "bullets": ["Grow in the Nordics", "Keep costs flat"]},
    {"title": "Hiring plan", "table": [["Team", "New hires"], ["Sales", "8"], ["Support", "5"]]},
    {
        "title": "Project Aurora",
        "bullets": ["Aurora launches on 14 October 2025", "Pilot customers: Fjord Bank and Nordlys Energy"],
        "notes": "Do not share the pilot names outside the company.",
    },
]


@pytest.fixture
def uploads(settings, tmp_path: Path, people: People) -> Source:  # type: ignore[no-untyped-def]
    settings.UPLOADS_DIR = tmp_path / "uploads"
    with acting_as_system():
        source = source_ensure(name="Planning")
        grant_create(user=people.alice, source=source)
    return source


def test_a_question_finds_the_rows_or_the_slide_that_answers_it_and_the_citation_names_them(
    uploads: Source, people: People
) -> None:
    workbook = xlsx_bytes([("Offices", OFFICES), ("Budget", BUDGET)], hidden=[("Salaries", SALARIES)])
    with acting_as_system():
        document_upload(source=uploads, filename="offices.xlsx", data=workbook)
        document_upload(source=uploads, filename="strategy.pptx", data=pptx_bytes(DECK))
    _, results = sync_inline(uploads)
    assert {uri: result.outcome for uri, result in results.items()} == dict.fromkeys(
        ["offices.xlsx", "strategy.pptx"], Outcome.INGESTED
    )

    [reykjavik] = [b for b in _blocks(workbook, "offices.xlsx") if "Reykjavik" in b.text]
    assert reykjavik.heading_path[0] == "Offices" and reykjavik.heading_path[1] != "rows 2–27"  # not the whole sheet
    row = top(people, "How many staff work in the Reykjavik office?")
    assert row.document.uri == "offices.xlsx"
    assert "Office: Reykjavik | Country: Iceland | Staff: 67 | Opened: 2019" in row.text
    assert location_of(row.metadata) == " > ".join(reykjavik.heading_path)  # e.g. "Offices > rows 19–27"

    budget = top(people, "What is the 2025 budget for software licences?")
    assert (budget.document.uri, location_of(budget.metadata)) == ("offices.xlsx", "Budget > rows 2–4")

    slide = top(people, "When does Project Aurora launch?")
    assert slide.document.uri == "strategy.pptx"
    assert location_of(slide.metadata) == "Slide 3 > Project Aurora"
    assert slide.metadata["page"] == 3 and "14 October 2025" in slide.text

    with acting_as_system():
        deck = Document.objects.get(source=uploads, uri="strategy.pptx")
        workbook_document = Document.objects.get(source=uploads, uri="offices.xlsx")
    assert deck.title == "Strategy 2025" and workbook_document.title == "offices"
    assert workbook_document.metadata["hidden_sheets"] == ["Salaries"]
    sheet_chunks = chunks_of(workbook_document)
    sections = [chunk.metadata["section"] for chunk in sheet_chunks]
    assert len(sections) == len(set(sections)) > 4  # each block of rows fits one chunk, so its label is exact
    everything = " ".join(chunk.text for chunk in sheet_chunks)
    assert "150000" not in everything  # a hidden sheet's numbers are never indexed
    assert not chunk_search(fetched_by=people.charlie, query="When does Project Aurora launch?")


def top(people: People, question: str) -> Chunk:
    return chunk_search(fetched_by=people.alice, query=question, k=3)[0].chunk


def _blocks(data: bytes, filename: str) -> list[Block]:
    return document_parse(data=data, filename=filename, max_bytes=50 * 1024 * 1024).blocks


def test_each_bad_office_file_fails_with_a_reason_and_the_good_ones_are_ingested(
    uploads: Source, tmp_path: Path
) -> None:
    passwd = email_message("Access request", "Please see the attached file.")
    passwd.add_attachment(
        b"a file that only claims to be passwd", maintype="text", subtype="plain", filename="../../etc/passwd"
    )
    bad = {
        "locked.xlsx": (encrypted(xlsx_bytes([("Offices", OFFICES)])), "password-protected"),
        "broken.pptx": (pptx_bytes(DECK)[:3000], "slide deck is damaged"),
        "bomb.xlsx": (zip_bomb("xl/worksheets/sheet1.xml"), "zip bomb"),
        "ledger.csv": (b"id,amount\n" + b"".join(b"%d,%d\n" % (n, n) for n in range(1_000_000)), "100,000 rows"),
        "matryoshka.eml": (nested_email(20), "levels deep"),
    }
    good = {
        "销售.csv": "地区,销售额\n华东,120\n华北,98\n".encode("gb18030"),
        "access.eml": bytes(passwd),
        "offices.xlsx": xlsx_bytes([("Offices", OFFICES)]),
    }
    with acting_as_system():
        for name, data in {**{name: data for name, (data, _) in bad.items()}, **good}.items():
            document_upload(source=uploads, filename=name, data=data)
    sync_inline(uploads)
    documents = documents_by_uri(uploads)
    for name, (_, words) in bad.items():
        assert documents[name].status == Document.Status.FAILED, name
        assert words in documents[name].error, (name, documents[name].error)
        assert not chunks_of(documents[name])
    assert {name: documents[name].status for name in good} == dict.fromkeys(good, Document.Status.READY)
    assert "地区: 华东 | 销售额: 120" in chunks_of(documents["销售.csv"])[0].text
    attachment = [c for c in chunks_of(documents["access.eml"]) if "passwd" in c.metadata["section"]]
    assert [c.text for c in attachment] == ["a file that only claims to be passwd"]
    written = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())
    assert written == sorted([*bad, *good])  # the attachment's name led nowhere: only the uploads are on disk
