"""The export page: each format downloads; only approved, unflagged, redacted quotes."""

from __future__ import annotations

import csv
import io

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from surveys.export.answers import WITHHELD
from surveys.storage import store
from surveys.storage.models import AuditEvent
from tests.export.conftest import CHILD_QUOTES, NEVER, PLANTED, build_round
from tests.web.conftest import hidden_fields


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


def test_the_leads_every_answer_file_withholds_flagged_words_and_says_so(as_role, exported):
    text = as_role("lead").get(f"/admin/rounds/{exported}/export/answers.csv").get_data(True)
    assert "hurts me at home" not in text
    flagged = [r for r in csv.DictReader(io.StringIO(text)) if r["flagged"] == "yes"]
    assert flagged, "the flagged answer keeps its row: counts stay whole"
    for row in flagged:
        assert row["answer"] == row["answer_redacted"] == WITHHELD
        assert "withheld: flagged for safeguarding" in row["answer"]


def test_the_safeguarding_lead_gets_flagged_words_when_asking(as_role, exported):
    res = as_role("safeguarding").get(f"/admin/rounds/{exported}/export/answers.csv")
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    flagged = [r for r in rows if r["flagged"] == "yes"]
    assert res.status_code == 200
    assert "Tyler Brookes hurts me at home" in [r["answer"] for r in flagged]


def test_the_page_shows_what_small_numbers_hide(as_role, exported):
    body = (
        as_role("lead").get(f"/admin/rounds/{exported}/export?min_group=50").get_data(as_text=True)
    )
    assert "What is hidden and why" in body
    assert "fewer than 50" in body


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_the_lead_edits_a_narrative_and_the_plan_prints_it(as_role, exported, rt):
    client = as_role("lead")
    page = client.get(f"/admin/rounds/{exported}/export").get_data(as_text=True)
    assert 'id="narrative-policing"' in page and "answered questions on policing" in page
    token = hidden_fields(page)["csrf_token"]
    mine = "Young people want the police to listen first. We will run two listening sessions."
    url = f"/admin/rounds/{exported}/export/narrative/policing"
    res = client.post(url, data={"csrf_token": token, "narrative": mine, "action": "save"})
    assert res.status_code == 303
    plan = client.get(f"/admin/rounds/{exported}/export/plan.md").get_data(as_text=True)
    assert mine in plan
    with rt.transaction() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "narrative")).all()
        assert [e.target for e in events] == ["priority:policing"]
        assert mine not in str(events[0].details)  # the audit log keeps no words
    client.post(url, data={"csrf_token": token, "action": "reset"})
    plan = client.get(f"/admin/rounds/{exported}/export/plan.md").get_data(as_text=True)
    assert mine not in plan and "answered questions on policing" in plan


def test_only_the_lead_saves_a_narrative(as_role, exported):
    client = as_role("reviewer")
    token = hidden_fields(client.get("/admin/").get_data(as_text=True)).get("csrf_token", "")
    res = client.post(
        f"/admin/rounds/{exported}/export/narrative/policing",
        data={"csrf_token": token, "narrative": "mine"},
    )
    assert res.status_code == 403


def test_a_narrative_for_a_priority_the_round_does_not_ask_is_refused(as_role, exported):
    client = as_role("lead")
    page = client.get(f"/admin/rounds/{exported}/export").get_data(as_text=True)
    res = client.post(
        f"/admin/rounds/{exported}/export/narrative/not_a_priority",
        data={"csrf_token": hidden_fields(page)["csrf_token"], "narrative": "x"},
    )
    assert res.status_code == 400 and b"not a priority of round" in res.data


def test_the_page_lists_what_is_empty_instead_of_printing_placeholders(as_role, exported):
    body = as_role("lead").get(f"/admin/rounds/{exported}/export").get_data(as_text=True)
    assert "Not in the plan yet" in body and "no actions accepted yet" in body
