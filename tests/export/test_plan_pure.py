"""The plan's pure core on plain rows: no database needed."""

import io
from datetime import date

from docx import Document

from surveys.core.catalogue import default_catalogue
from surveys.export.docx import write_docx
from surveys.export.markdown import render_markdown
from surveys.export.plan import ActionRow, AnswerRow, RoundInfo, plan_from_rows
from surveys.export.quotes_csv import write_quotes_csv
from surveys.export.xlsx import build_workbook

INFO = RoundInfo(
    code="ABC234",
    title="Plan",
    status="open",
    priorities=("policing",),
    audiences=("child",),
    created_on=date(2027, 1, 4),
    opened_on=date(2027, 1, 4),
    closed_on=None,
    closes_on=date(2027, 2, 28),
    first_answer=date(2027, 1, 5),
    last_answer=date(2027, 2, 1),
)


def row(
    n,
    text="",
    *,
    quotable=True,
    priority="policing",
    qid="policing.opinion",
    audience="child",
    choice=None,
    sentiment="positive",
    flagged=False,
):
    return AnswerRow(
        n, f"r{n}", priority, qid, audience, "web", choice, text, sentiment, quotable, flagged
    )


def test_quotes_keep_the_order_they_arrived_in_and_questions_the_bank_order():
    rows = [row(1, "second question", qid="policing.talk"), row(2, "first A"), row(3, "first B")]
    (section,) = plan_from_rows(INFO, rows, [], default_catalogue()).sections
    box = section.box("child")
    assert [q.question_id for q in box.questions] == ["policing.opinion", "policing.talk"]
    assert box.questions[0].quotes == ("first A", "first B")
    assert box.n == 3 and box.n_text == "fewer than 10"


def test_a_priority_unknown_to_the_banks_still_gets_its_section_last():
    rows = [
        row(1, "kept"),
        row(2, "local idea", priority="first_time_entrants", qid="first_time_entrants.ideas"),
    ]
    plan = plan_from_rows(INFO, rows, [], default_catalogue())
    assert [s.key for s in plan.sections] == ["policing", "first_time_entrants"]
    assert plan.sections[1].box("child").questions[0].wording == "Other comments"


def test_text_that_would_break_a_file_is_written_safely():
    nasty = "bell\x07 =cmd|' /C calc'!A0 <b>*x*</b> \ud800"
    rows = [row(i, nasty if i == 0 else "fine") for i in range(12)]
    actions = [ActionRow("policing", "Police", "=1+1", "do\x00it", "@SUM(A1)")]
    plan = plan_from_rows(INFO, rows, actions, default_catalogue())
    buf = io.BytesIO()
    write_docx(plan, buf, charts=False)
    text = "\n".join(p.text for p in Document(io.BytesIO(buf.getvalue())).paragraphs)
    assert "bell =cmd|' /C calc'!A0 <b>*x*</b>" in text
    build_workbook(plan).save(io.BytesIO())
    assert "&lt;b&gt;\\*x\\*&lt;/b&gt;" in render_markdown(plan)
    out = io.StringIO()
    write_quotes_csv(plan, out)
    out.getvalue().encode("utf-8")  # no lone surrogate left to break the file
