"""Excel workbooks (.xlsx, .xlsm): each visible sheet's rows, repeating its header row; hidden sheets are
skipped and listed. Formulas give the values Excel saved with them (a file never opened in a spreadsheet
program after its formulas were written has none, and those cells read as empty)."""

from __future__ import annotations

import io

import openpyxl

from knowledge.parsing.base import Block, ParsedDocument, RawFile, check_zip, library_errors
from knowledge.parsing.blocks import clean
from knowledge.parsing.tables import RowCounter, table_blocks

_NOT_XLSX = "The spreadsheet is damaged or not an .xlsx file (old .xls files must be saved as .xlsx first)"


def parse(file: RawFile) -> ParsedDocument:
    check_zip(file, kind="The spreadsheet", unreadable=_NOT_XLSX)  # also refuses password-protected files
    counter = RowCounter(file.max_rows)
    blocks: list[Block] = []
    shown: list[str] = []
    hidden: list[str] = []
    with library_errors(_NOT_XLSX):
        # read_only streams each sheet's XML rather than building every cell in memory;
        # data_only gives a formula's saved value instead of its text.
        book = openpyxl.load_workbook(io.BytesIO(file.data), read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                if sheet.sheet_state != "visible":  # "hidden" or "veryHidden": kept from readers on purpose
                    hidden.append(sheet.title)
                    continue
                shown.append(sheet.title)
                rows = enumerate(sheet.iter_rows(values_only=True), start=1)  # from row 1, empty rows included
                blocks += table_blocks(rows, path=(clean(sheet.title),), counter=counter)
            title = clean(book.properties.title or "")
        finally:
            book.close()
    metadata = {"format": "xlsx", "sheets": shown, "hidden_sheets": hidden, "rows": counter.rows}
    return ParsedDocument(title=title, blocks=blocks, metadata=metadata)
