"""The report's files: every table as CSV (UTF-8 with BOM, or Shift_JIS/CP932) or XLSX, the
whole report as one workbook (a sheet per table) and as an A4 PDF in Japanese.

CSV and the workbook hold integer yen and percentages as numbers, so spreadsheets can add
them up; the PDF shows what the page shows (万円 / 億円). No Flask request here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from app.imports.service import csv_bytes
from app.reports.presentation import (
    COUNT,
    MAN_YEN,
    NUMBER,
    PERCENT,
    SIGNED_YEN,
    YEN,
    Table,
    export_value,
)

FORMATS: Final = {
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "csv-sjis": ("text/csv; charset=Shift_JIS", "_sjis.csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "pdf": ("application/pdf", ".pdf"),
}
# Excel sheet names: at most 31 characters, none of []:*?/\
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")
NUMBER_FORMATS: Final = {
    YEN: "#,##0",
    MAN_YEN: "#,##0",
    SIGNED_YEN: "+#,##0;-#,##0;0",
    COUNT: "#,##0",
    PERCENT: "0.0",
    NUMBER: "#,##0.0",
}


def pdf_in_child_process(html: str, base_url: str | None = None) -> bytes:
    """``app.web.pdf.html_to_pdf`` in a short-lived child process: laying out a report with
    CJK fonts and SVG charts takes WeasyPrint a couple of hundred megabytes, which a web
    worker would otherwise keep for the rest of its life."""
    import multiprocessing

    from app.web.pdf import html_to_pdf

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pdf: bytes = pool.apply(html_to_pdf, (html, base_url))
    return pdf


def rows_of(table: Table) -> Iterable[Sequence[Any]]:
    """The header row, then the rows with export values."""
    yield [column.header for column in table.columns]
    for row in table.rows:
        yield [
            export_value(cell, column.kind) for cell, column in zip(row, table.columns, strict=True)
        ]


def table_csv(table: Table, encoding: str) -> bytes:
    """One table as CSV: ``utf-8`` (with a BOM, for Excel) or ``cp932``."""
    return b"".join(csv_bytes(rows_of(table), encoding))


def sheet_title(title: str, taken: set[str]) -> str:
    base = _SHEET_UNSAFE.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def workbook_bytes(tables: Sequence[Table], progress: Any = None) -> bytes:
    """A workbook with one sheet per table (openpyxl write-only: rows stream to disk)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    for index, table in enumerate(tables, start=1):
        sheet = workbook.create_sheet(sheet_title(table.title, taken))
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=column.header)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            cells = []
            for value, column in zip(row, table.columns, strict=True):
                exported = export_value(value, column.kind)
                if isinstance(exported, str):
                    exported = ILLEGAL_CHARACTERS_RE.sub("", exported)
                cell = WriteOnlyCell(sheet, value=exported)
                if isinstance(exported, str) and exported.startswith("="):
                    cell.data_type = "s"  # text, never a formula
                if column.kind in NUMBER_FORMATS and isinstance(exported, int | float):
                    cell.number_format = NUMBER_FORMATS[column.kind]
                cells.append(cell)
            sheet.append(cells)
        if table.note:
            sheet.append([])
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", table.note)])
        if progress is not None:
            progress(index)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
