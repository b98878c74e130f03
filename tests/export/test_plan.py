"""The plan model: what is counted, what is quoted, what is hidden."""

import re

import pytest
from sqlalchemy import event

from surveys.export.plan import NO_QUOTES, NoApprovedQuotes
from surveys.services.exporting import build_plan
from surveys.storage import store
from tests.export.conftest import (
    CHILD_QUOTES,
    EDITED_QUOTE,
    EDUCATION_QUOTES,
    GENERAL_QUOTE,
    MOVED_QUOTE,
    PARENT_QUOTE,
)
from tests.export.helpers import plan_of

EXPECTED_ORDER = [
    "policing",
    "diversion",
    "education",
    "remands",
    "working_with_families",
    "general",
]


def test_sections_follow_the_plan_order(rt, built_round):
    plan = plan_of(rt, built_round)
    assert [s.key for s in plan.sections] == EXPECTED_ORDER
    assert [s.number for s in plan.sections] == [2, 4, 5, 9, 11, 99]


def test_n_is_the_groups_count_in_the_method_table_flagged_and_unapproved_too(rt, built_round):
    plan = plan_of(rt, built_round)
    by = {s.key: s for s in plan.sections}
    assert by["policing"].box("child").n == 12  # people who answered on the priority
    assert by["policing"].box("child").footer == (
        "(A selection from responses from 12 children compiled for this plan)"
    )
    assert by["policing"].box("parent").n == 3
    assert by["policing"].box("parent").footer == (
        "(A selection from responses from fewer than 10 parents / carers compiled for this plan)"
    )
    # One count per group in the whole plan: 12 children took part, printed the same in
    # every section (10 answered on education, 1 on remands: never printed, so never
    # subtracted from the 12).
    assert by["education"].box("child").n == 10
    texts = {by[k].box("child").n_text for k in ("policing", "education", "general", "remands")}
    assert texts == {"12"} == {plan.method.respondents.cell_text(0, 0)}


def test_only_approved_unflagged_chosen_redacted_quotes_are_printed(rt, built_round):
    plan = plan_of(rt, built_round)
    quotes = {
        (s.key, b.audience, q.question_id): [quote.text for quote in q.quotes]
        for s in plan.sections
        for b in s.boxes
        for q in b.questions
    }
    assert quotes == {
        ("policing", "child", "policing.opinion"): [
            *CHILD_QUOTES["policing.opinion"],
            EDITED_QUOTE,
        ],
        ("policing", "child", "policing.talk"): CHILD_QUOTES["policing.talk"],
        ("policing", "parent", "policing.opinion"): [PARENT_QUOTE],
        ("education", "child", "education.experience"): EDUCATION_QUOTES,
        ("working_with_families", "parent", "education.experience"): [MOVED_QUOTE],
        ("general", "child", "general.rating_why"): [GENERAL_QUOTE],
    }
    assert plan.quote_count == 11 == plan.method.quotes_total


def test_questions_are_worded_for_the_audience_that_was_asked(rt, built_round):
    policing = plan_of(rt, built_round).sections[0]
    wording = policing.box("child").questions[0].wording
    assert wording == "What do you think of the police round here?"
    assert "where you live" in policing.box("parent").questions[0].wording


def test_rating_is_a_percentage_table_with_small_groups_hidden(rt, built_round):
    policing = plan_of(rt, built_round).sections[0]
    (rating,) = policing.ratings
    t = rating.table
    assert t.columns == ("Very good", "Good", "OK", "Poor")
    assert [t.percent_text(0, j) for j in range(4)] == ["33%", "50%", "17%", "0%"]
    assert t.rows[1] == "Parents / carers" and t.row_hidden(1)
    assert t.row_total_text(1) == "fewer than 10"


def test_sentiment_balance_leaves_out_flagged_answers(rt, built_round):
    t = plan_of(rt, built_round).sections[0].sentiment
    assert t.rows[0] == "Children" and t.cells[0] == (4, 4, 2)
    assert t.row_hidden(1)  # 3 parents


def test_action_table_numbers_accepted_proposals_by_plan_order(rt, built_round):
    by = {s.key: s for s in plan_of(rt, built_round).sections}
    assert [a.id for a in by["policing"].actions] == ["2:1 Police", "2:2 Health"]
    assert [a.id for a in by["diversion"].actions] == ["4:1 Police"]
    assert by["education"].actions == ()


def test_the_threshold_is_configurable(rt, built_round):
    plan = plan_of(rt, built_round, min_group=3)
    assert not plan.sections[0].ratings[0].table.row_hidden(1)
    assert plan.sections[0].box("parent").n_text == "3"
    # The staff are "fewer than 3": the total, which would give them away, is hidden
    # rather than a group's own count.
    assert plan.method.respondents.column_total_text(0) == "not shown"


def test_everything_hidden_is_listed_for_the_lead(rt, built_round):
    plan = plan_of(rt, built_round)
    tables = {s.table for s in plan.suppressed}
    assert "Who took part" in tables
    assert all(s.reason for s in plan.suppressed)


def test_the_plan_never_reads_raw_answer_text(rt, built_round):
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(rt.database, "before_cursor_execute", capture)
    try:
        plan_of(rt, built_round)
    finally:
        event.remove(rt.database, "before_cursor_execute", capture)
    selects = [s for s in statements if "answers" in s]
    assert selects and not any(re.search(r"answers\.text\b", s) for s in selects)


def test_a_round_without_approved_quotes_says_so(rt, open_round):
    with rt.transaction() as s:
        plan = build_plan(s, store.get_round(s, open_round), rt.catalogue)
    assert plan.quote_count == 0
    with pytest.raises(NoApprovedQuotes, match=NO_QUOTES):
        plan.require_quotes()
