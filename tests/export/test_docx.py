"""The Word export: laid out like the plan, and nothing in it that must not be."""

import io
import os
import shutil
import subprocess

import pytest
from docx import Document

from surveys.export.docx import sentiment_chart, write_docx
from surveys.export.plan import NO_QUOTES, NoApprovedQuotes
from tests.conftest import IN_CI
from tests.export.conftest import (
    CHILD_QUOTES,
    EDITED_QUOTE,
    NEVER,
    PARENT_QUOTE,
    PLANTED,
)
from tests.export.helpers import docx_text, plan_of


@pytest.fixture
def doc_path(rt, built_round, tmp_path):
    path = tmp_path / "plan.docx"
    write_docx(plan_of(rt, built_round), path)
    return path


def test_a_section_per_priority_in_plan_order(doc_path):
    doc = Document(doc_path)
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == [
        "2. Policing",
        "4. Diversion",
        "5. Education",
        "9. Remands",
        "11. Working with families",
        "About the service",
        "Appendix: how we consulted",
    ]


def _boxes(doc):
    return [t for t in doc.tables if len(t.rows) == 1 and len(t.columns) == 1]


def test_questions_in_italics_then_quotes_as_bullets_in_quotation_marks(doc_path):
    child_box = _boxes(Document(doc_path))[0].cell(0, 0)
    paras = child_box.paragraphs
    texts = [p.text for p in paras]
    assert texts[0] == "Children's voices"
    q = texts.index("What do you think of the police round here?")
    assert all(r.italic for r in paras[q].runs)
    bullets = [p.text for p in paras[q + 1 : q + 5]]
    assert bullets == [
        f"\u201c{t}\u201d" for t in [*CHILD_QUOTES["policing.opinion"], EDITED_QUOTE]
    ]
    assert all(p.style.name == "List Bullet" for p in paras[q + 1 : q + 5])
    text = docx_text(doc_path)
    # N is how many of the group took part, the method table's count, in every section.
    assert text.count("(A selection from responses from 12 children compiled for this plan)") == 3
    assert "responses from 10 children" not in text


def test_every_group_has_its_own_shaded_box_kept_on_one_page(doc_path):
    doc = Document(doc_path)
    boxes = _boxes(doc)
    headings = [b.cell(0, 0).paragraphs[0].text for b in boxes]
    assert headings[:2] == ["Children's voices", "Parents' and carers' voices"]  # policing
    assert set(headings) == {"Children's voices", "Parents' and carers' voices"}
    assert headings.count("Parents' and carers' voices") == 2  # and working with families
    cell = boxes[1].cell(0, 0)
    texts = [p.text for p in cell.paragraphs]
    assert f"\u201c{PARENT_QUOTE}\u201d" in texts
    # The same count line as the children's box.
    assert texts[-1] == (
        "(A selection from responses from fewer than 10 parents / carers compiled for this plan)"
    )
    tc_pr = cell._tc.tcPr.xml
    assert "w:shd" in tc_pr and "w:tcBorders" in tc_pr
    assert "w:cantSplit" in boxes[1].rows[0]._tr.xml  # Word keeps the box on one page


def test_ratings_are_percentage_tables_with_small_groups_hidden(doc_path):
    doc = Document(doc_path)
    rating = next(
        t for t in doc.tables if len(t.columns) == 5 and t.rows[0].cells[1].text == "Very good"
    )
    rows = [[c.text for c in r.cells] for r in rating.rows]
    # Percentages only: counts of people are printed in the method table alone.
    assert rows[0] == ["Who", "Very good", "Good", "OK", "Poor"]
    assert rows[1] == ["Children", "33%", "50%", "17%", "0%"]
    assert rows[2][0] == "Parents / carers" and set(rows[2][1:]) == {"fewer than 10"}


def test_action_table_per_priority_with_plan_ids(doc_path):
    doc = Document(doc_path)
    actions = [t for t in doc.tables if t.rows[0].cells[0].text == "ID"]
    assert [c.text for c in actions[0].rows[0].cells] == [
        "ID",
        "Achieve",
        "Do",
        "Evidence / Measure",
    ]
    ids = [[r.cells[0].text for r in t.rows[1:]] for t in actions]
    assert ids == [["2:1 Police", "2:2 Health"], ["4:1 Police"]]
    assert actions[1].rows[1].cells[1].text == "Swifter outcomes for cases returned from court"


def test_a_sentiment_chart_per_priority_with_answers(doc_path):
    doc = Document(doc_path)
    # policing, education, remands (hidden row: no chart), general
    assert len(doc.inline_shapes) == 3


def test_the_appendix_gives_method_counts_and_what_was_hidden(doc_path):
    text = docx_text(doc_path)
    assert "Who took part" in text and "Numbers not shown" in text
    assert "are never published" in text
    assert "Who took part - Parents / carers" in text


def test_never_contains_flagged_unapproved_or_identifying_text(doc_path):
    text = docx_text(doc_path)
    for needle in NEVER + PLANTED:
        assert needle not in text, needle
    assert "Staff view on police" not in text


def test_no_approved_quotes_is_an_error_and_nothing_is_a_placeholder(rt, open_round, tmp_path):
    plan = plan_of(rt, open_round)
    with pytest.raises(NoApprovedQuotes):
        write_docx(plan, tmp_path / "x.docx")
    write_docx(plan, tmp_path / "x.docx", allow_empty=True)
    text = docx_text(tmp_path / "x.docx")
    for placeholder in (NO_QUOTES, "yet"):
        assert placeholder not in text


def test_the_sentiment_chart_is_the_same_every_time(rt, built_round):
    t = plan_of(rt, built_round).sections[0].sentiment
    png = sentiment_chart(t)
    assert png.startswith(b"\x89PNG") and png == sentiment_chart(t)


def _soffice():
    return shutil.which("libreoffice") or shutil.which("soffice")


def test_libreoffice_opens_it_cleanly(request, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough to check the file")
    if _soffice() is None:
        if IN_CI:
            pytest.fail("LibreOffice is required under CI")
        pytest.skip("LibreOffice is not installed")
    rt, code = request.getfixturevalue("rt"), request.getfixturevalue("built_round")
    buf = io.BytesIO()
    write_docx(plan_of(rt, code), buf)
    src = tmp_path / "plan.docx"
    src.write_bytes(buf.getvalue())
    env = {**os.environ, "HOME": str(tmp_path)}  # a profile of its own: no clash, no state
    proc = subprocess.run(
        [
            _soffice(),
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    pdf = tmp_path / "plan.pdf"
    assert proc.returncode == 0 and pdf.exists(), proc.stdout + proc.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
