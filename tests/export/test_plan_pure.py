"""The plan's pure core on plain rows: no database needed."""

import io
from dataclasses import replace
from datetime import date

from docx import Document

from surveys.core.catalogue import default_catalogue
from surveys.export.docx import write_docx
from surveys.export.markdown import render_markdown
from surveys.export.plan import ActionRow, AnswerRow, RoundInfo, plan_from_rows
from surveys.export.quotes_csv import write_quotes_csv
from surveys.export.xlsx import build_workbook
from tests.export.helpers import docx_text

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
    themes=(),
    respondent=None,
):
    who = respondent or f"r{n}"
    return AnswerRow(
        n, who, priority, qid, audience, "web", choice, text, sentiment, quotable, flagged, themes
    )


def test_quotes_keep_the_order_they_arrived_in_and_questions_the_bank_order():
    rows = [row(1, "second question", qid="policing.talk"), row(2, "first A"), row(3, "first B")]
    (section,) = plan_from_rows(INFO, rows, [], default_catalogue()).sections
    box = section.box("child")
    assert [q.question_id for q in box.questions] == ["policing.opinion", "policing.talk"]
    assert [q.text for q in box.questions[0].quotes] == ["first A", "first B"]
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
    text = docx_text(Document(io.BytesIO(buf.getvalue())))
    assert "bell =cmd|' /C calc'!A0 <b>*x*</b>" in text
    build_workbook(plan).save(io.BytesIO())
    assert "&lt;b&gt;\\*x\\*&lt;/b&gt;" in render_markdown(plan)
    out = io.StringIO()
    write_quotes_csv(plan, out)
    out.getvalue().encode("utf-8")  # no lone surrogate left to break the file


def test_identical_quotes_are_printed_once_with_how_many_said_them():
    rows = [row(i, "They should listen to us.") for i in range(3)]
    rows += [row(3, "they should listen to us"), row(4, "Talk to us like people.")]
    rows += [row(i, "fine", quotable=False) for i in range(5, 12)]
    plan = plan_from_rows(INFO, rows, [], default_catalogue())
    (question,) = plan.sections[0].box("child").questions
    assert [(q.text, q.count) for q in question.quotes] == [
        ("They should listen to us.", 4),
        ("Talk to us like people.", 1),
    ]
    md = render_markdown(plan)
    assert "\u201cThey should listen to us.\u201d (4 young people said this)" in md
    assert md.count("- \u201cThey should listen to us") == 1


def test_a_follow_up_is_printed_with_the_question_it_follows():
    info = replace(INFO, priorities=("diversion",))
    rows = [
        row(i, f"because {i}", priority="diversion", qid="diversion.second_chance_why")
        for i in range(12)
    ]
    plan = plan_from_rows(info, rows, [], default_catalogue())
    (question,) = plan.sections[0].box("child").questions
    assert question.wording == (
        "Should young people get a second chance instead of going to court? Tell us why."
    )


def test_a_section_without_quotes_or_actions_prints_no_placeholder_and_lists_the_gaps():
    rows = [row(i, "", quotable=False) for i in range(12)]
    plan = plan_from_rows(INFO, rows, [], default_catalogue())
    section = plan.sections[0]
    assert section.voice_boxes == ()
    assert plan.gaps == (
        "Policing: no children's quotes chosen yet",
        "Policing: no actions accepted yet",
    )
    md = render_markdown(plan)
    assert "yet" not in md and "Children's voices" not in md and "### Actions" not in md


def test_the_draft_narrative_uses_only_what_the_section_prints():
    rows = [
        row(i, "They should listen more.", sentiment="negative", themes=("listened_to",))
        for i in range(6)
    ]
    rows += [row(i, "", quotable=False, sentiment="positive") for i in range(6, 10)]
    rows += [row(i, "", quotable=False, sentiment="neutral") for i in range(10, 12)]
    labels = {"listened_to": "Being listened to"}
    plan = plan_from_rows(INFO, rows, [], default_catalogue(), theme_labels=labels)
    draft = plan.sections[0].narrative
    assert draft == plan.sections[0].draft
    assert draft.startswith("12 young people answered questions on policing.")
    assert "Views on policing were mixed, leaning critical." in draft
    assert "Young people most often wrote about being listened to." in draft
    assert "One young person said: \u201cThey should listen more.\u201d" in draft
    # No figure in it that the section does not print: only N.
    assert [w for w in draft.replace(".", " ").split() if w.isdigit()] == ["12"]
    again = plan_from_rows(INFO, rows, [], default_catalogue(), theme_labels=labels)
    assert again.sections[0].narrative == draft  # the same every time


def test_a_small_group_is_never_counted_in_the_narrative():
    rows = [row(i, "Alright.", themes=("listened_to",)) for i in range(4)]
    plan = plan_from_rows(INFO, rows, [], default_catalogue(), theme_labels={})
    draft = plan.sections[0].narrative
    assert draft.startswith("fewer than 10 young people answered")
    assert "4" not in draft


def test_the_leads_narrative_replaces_the_draft_in_every_format():
    rows = [row(i, "Fine.") for i in range(12)]
    mine = "The police heard this and will attend the youth club monthly."
    plan = plan_from_rows(INFO, rows, [], default_catalogue(), narratives={"policing": mine})
    assert plan.sections[0].narrative == mine != plan.sections[0].draft
    buf = io.BytesIO()
    write_docx(plan, buf, charts=False)
    assert mine in docx_text(Document(io.BytesIO(buf.getvalue())))
    assert mine in render_markdown(plan)


def test_a_count_line_whose_group_is_hidden_to_protect_another_has_no_number():
    from surveys.export.plan import VoiceBox

    box = VoiceBox("parent", 12, "not shown", ())
    assert box.footer == "(A selection from responses from parents / carers compiled for this plan)"
