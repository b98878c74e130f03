"""The export page: each format downloads; only approved, unflagged, redacted quotes."""

from __future__ import annotations

import csv
import io

import pytest
from docx import Document
from openpyxl import load_workbook

from surveys.storage import store
from tests.export.conftest import CHILD_QUOTES, NEVER, PLANTED, build_round


@pytest.fixture
def exported(rt):
    return build_round(rt)


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def xlsx_text(data: bytes) -> str:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        str(v)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if v is not None
    )


def text_of(fmt: str, data: bytes) -> str:
    if fmt == "docx":
        return docx_text(data)
    if fmt == "xlsx":
        return xlsx_text(data)
    return data.decode("utf-8")


@pytest.mark.parametrize("role", ["lead", "reviewer", "viewer"])
def test_readers_see_the_export_page(as_role, exported, role):
    res = as_role(role).get(f"/admin/rounds/{exported}/export")
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    for fmt in ("docx", "xlsx", "csv", "md"):
        assert f"/admin/rounds/{exported}/export/plan.{fmt}" in body
    assert ("All answers (.csv)" in body) == (role == "lead")


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "csv", "md"])
def test_each_format_downloads_with_quotes_and_nothing_unpublishable(as_role, exported, fmt):
    res = as_role("reviewer").get(f"/admin/rounds/{exported}/export/plan.{fmt}")
    assert res.status_code == 200
    assert "attachment" in res.headers["Content-Disposition"]
    assert f".{fmt}" in res.headers["Content-Disposition"]
    text = text_of(fmt, res.data)
    assert "They should listen before they shout." in text
    assert CHILD_QUOTES["policing.opinion"][0] in text
    for bad in NEVER + PLANTED:
        assert bad not in text, bad


def test_round_without_approved_quotes_says_so(as_role, rt):
    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Empty", priorities=["policing"], audiences=["child"]
        ).code
    client = as_role("lead")
    page = client.get(f"/admin/rounds/{code}/export").get_data(as_text=True)
    assert "No quotes have been approved" in page and "plan.docx" not in page
    res = client.get(f"/admin/rounds/{code}/export/plan.docx")
    assert res.status_code == 409 and b"No quotes have been approved" in res.data


def test_unknown_format_and_round_are_404(as_role, exported):
    client = as_role("lead")
    assert client.get(f"/admin/rounds/{exported}/export/plan.exe").status_code == 404
    assert client.get("/admin/rounds/NOPE99/export").status_code == 404


def test_only_the_lead_downloads_every_answer(as_role, exported):
    assert (
        as_role("reviewer").get(f"/admin/rounds/{exported}/export/answers.csv").status_code == 403
    )
    res = as_role("lead").get(f"/admin/rounds/{exported}/export/answers.csv")
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert res.status_code == 200 and rows and "answer_redacted" in rows[0]


def test_the_page_shows_what_small_numbers_hide(as_role, exported):
    body = (
        as_role("lead").get(f"/admin/rounds/{exported}/export?min_group=50").get_data(as_text=True)
    )
    assert "What is hidden and why" in body
    assert "fewer than 50" in body
