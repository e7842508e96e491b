"""OpenDocument spreadsheets (.ods), read by calamine: like .xlsx, each visible sheet's rows with its header
row repeated; hidden sheets are skipped and listed."""

from __future__ import annotations

import io

import python_calamine

from knowledge.parsing.base import Block, ParsedDocument, RawFile, check_zip, library_errors
from knowledge.parsing.blocks import clean
from knowledge.parsing.tables import RowCounter, table_blocks

_NOT_ODS = "The spreadsheet is damaged or not an .ods file"


def parse(file: RawFile) -> ParsedDocument:
    check_zip(file, kind="The spreadsheet", unreadable=_NOT_ODS)
    counter = RowCounter(file.max_rows)
    blocks: list[Block] = []
    shown: list[str] = []
    hidden: list[str] = []
    with library_errors(_NOT_ODS):
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(file.data))
        for sheet in book.sheets_metadata:
            if sheet.visible != python_calamine.SheetVisibleEnum.Visible:
                hidden.append(sheet.name)
                continue
            shown.append(sheet.name)
            rows = enumerate(book.get_sheet_by_name(sheet.name).iter_rows(), start=1)  # calamine starts at row 1
            blocks += table_blocks(rows, path=(clean(sheet.name),), counter=counter)
    metadata = {"format": "ods", "sheets": shown, "hidden_sheets": hidden, "rows": counter.rows}
    return ParsedDocument(title="", blocks=blocks, metadata=metadata)
