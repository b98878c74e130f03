"""The plan as an Excel workbook: a summary sheet, then one sheet per priority.

Every cell is data: text that starts with "=" (or anything a spreadsheet might run) is
stored as a string cell, never a formula, and characters Excel refuses are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from surveys.export import words
from surveys.export.docx import section_heading
from surveys.export.plan import (
    Plan,
    Section,
    VoiceBox,
    method_lines,
    printable,
    who_took_part,
)
from surveys.export.suppression import SafeTable

MAX_SHEET_NAME = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def sheet_name(title: str, taken: Iterable[str]) -> str:
    """Return a valid, unique sheet name (at most 31 characters) for a title."""
    base = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'") or "Sheet"
    base = " ".join(base.split())[:MAX_SHEET_NAME].rstrip()
    used = {t.lower() for t in taken}
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name = base[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
        k += 1
    return name


def _data(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", printable(value))
    return value


class _Sheet:
    """Appends rows to a worksheet, every string kept as a string (never a formula)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.row = 1

    def put(self, values: Sequence[Any], *, bold: bool = False, header: bool = False) -> None:
        for j, value in enumerate(values, start=1):
            cell = self.ws.cell(row=self.row, column=j)
            cell.value = _data(value)
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would read a leading "=" as a formula
            cell.alignment = WRAP
            if bold or header:
                cell.font = BOLD
            if header:
                cell.fill = HEADER_FILL
        self.row += 1

    def gap(self) -> None:
        self.row += 1

    def title(self, text: str) -> None:
        self.put([text], bold=True)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        self.put(header, header=True)
        for r in rows:
            self.put(r)
        self.gap()

    def widths(self, widths: Sequence[int]) -> None:
        for j, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(j)].width = w


def _rating_rows(t: SafeTable) -> list[list[str]]:
    return [
        [t.rows[i]] + [t.percent_text(i, j) for j in range(len(t.columns))]
        for i in range(len(t.rows))
    ]


def _section_sheet(sheet: _Sheet, section: Section, lang: str) -> None:
    def w(key: str, **fmt: str) -> str:
        return words.word(key, lang, **fmt)

    sheet.widths([28, 70, 14, 14, 14, 14])
    sheet.title(section_heading(section))
    if section.narrative:
        sheet.put([section.narrative])
    sheet.gap()
    sheet.title(w("quotes"))
    rows = []
    for box in section.boxes:
        for q in box.questions:
            for quote in q.quotes:
                who = words.audience_label(box.audience, lang)
                rows.append([who, quote.text, q.wording, quote.count])
    sheet.table([w("audience"), w("quote"), w("question"), w("people_said")], rows)
    sheet.table(
        [w("audience"), w("group_n")],
        [[words.audience_label(b.audience, lang), b.n_text] for b in section.boxes],
    )
    for r in section.ratings:
        sheet.title(w("rating", wording=r.wording))
        sheet.table([w("who"), *r.table.columns], _rating_rows(r.table))
    t = section.sentiment
    if t.rows:
        sheet.title(w("sentiment_sheet"))
        sheet.table([w("who"), *t.columns], _rating_rows(t))
    sheet.title(w("actions"))
    sheet.table(
        list(words.ACTION_COLUMNS.get(lang, words.ACTION_COLUMNS["en"])),
        [[a.id, a.achieve, a.do, a.evidence] for a in section.actions],
    )


def _n_text(box: VoiceBox | None) -> str:
    return box.n_text if box else "0"


def _summary_sheet(sheet: _Sheet, plan: Plan) -> None:
    def w(key: str) -> str:
        return words.word(key, plan.lang)

    sheet.widths([48, 18, 18, 12, 12, 12])
    sheet.title(w("document"))
    sheet.put([plan.round.title])
    sheet.put([w("round_label"), plan.round.code])
    sheet.gap()
    sheet.table(
        [w("priority"), w("children_n"), w("parents_n"), w("quotes"), w("ratings"), w("actions")],
        [
            [
                section_heading(s),
                _n_text(s.box("child")),
                _n_text(s.box("parent")),
                s.quote_count,
                len(s.ratings),
                len(s.actions),
            ]
            for s in plan.sections
        ],
    )
    sheet.title(w("method"))
    for line in method_lines(plan):
        sheet.put([line])
    sheet.gap()
    header, rows = who_took_part(plan)
    if rows:
        sheet.title(w("who_took_part"))
        sheet.table(header, rows)
    sheet.title(w("hidden"))
    sheet.table(
        [w("table"), w("row"), w("column"), w("kind"), w("why")],
        [[s.table, s.row, s.column, s.kind, s.reason] for s in plan.suppressed],
    )


def build_workbook(plan: Plan) -> Workbook:
    """Return the plan as an openpyxl workbook."""
    wb = Workbook()
    summary = wb.worksheets[0]  # a new workbook's one (active) sheet
    summary.title = words.word("summary", plan.lang)
    _summary_sheet(_Sheet(summary), plan)
    for section in plan.sections:
        ws = wb.create_sheet(sheet_name(section_heading(section), wb.sheetnames))
        _section_sheet(_Sheet(ws), section, plan.lang)
    return wb


def write_xlsx(plan: Plan, out: str | Path | IO[bytes], *, allow_empty: bool = False) -> None:
    """Write the plan as an Excel workbook; NoApprovedQuotes unless something is approved."""
    if not allow_empty:
        plan.require_quotes()
    build_workbook(plan).save(out)
