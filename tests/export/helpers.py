"""Reading exports back: every piece of text a reader could see."""

from __future__ import annotations

from docx import Document
from openpyxl import load_workbook

from surveys.services.exporting import build_plan
from surveys.storage import store


def plan_of(rt, code, **kw):
    with rt.transaction() as s:
        return build_plan(s, store.get_round(s, code), rt.catalogue, **kw)


def docx_text(path_or_doc) -> str:
    """Return every paragraph, table cell (nested too) and property of a Word file."""
    doc = Document(path_or_doc) if not hasattr(path_or_doc, "paragraphs") else path_or_doc
    parts = [p.text for p in doc.paragraphs]

    def walk(tables):
        for t in tables:
            for row in t.rows:
                for cell in row.cells:
                    parts.extend(p.text for p in cell.paragraphs)
                    walk(cell.tables)

    walk(doc.tables)
    cp = doc.core_properties
    parts += [cp.title or "", cp.author or "", cp.comments or "", cp.subject or ""]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def xlsx_cells(path):
    """Return every non-empty cell of a workbook as (sheet, cell)."""
    wb = load_workbook(path)
    return wb, [
        (ws.title, c)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
