"""A rolling round's results by month: counted in SQL on both databases, small numbers hidden."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from surveys.core import engine
from surveys.export.suppression import MIN_GROUP
from surveys.services import conversation, monthly, questions
from surveys.storage import store
from surveys.storage.models import Answer, Respondent

FEEDBACK = {
    "key": "feedback",
    "title": "End-of-intervention feedback",
    "purpose": "What young people thought of their time with the service, asked at the end.",
}
RATE = {"type": "rating", "text": {"child": "How was your time with the YOT?"}}
WHY = {"type": "text", "text": {"child": "Tell us why."}}


def rolling_round(rt):
    with rt.transaction() as s:
        questions.create_bank(s, rt.banks, kind=questions.CONSULTATION, **FEEDBACK)
        questions.add_question(s, rt.banks, priority="feedback", spec=RATE, name="feedback.rate")
        questions.add_question(s, rt.banks, priority="feedback", spec=WHY, name="feedback.why")
    with rt.transaction() as s:
        return store.open_round(
            s,
            rt.catalogue,
            title="Feedback all year",
            priorities=["feedback"],
            audiences=["child"],
            rolling=True,
        )


def answer(rt, rnd, when: datetime, text: str) -> None:
    """A young person answers the rating and 'why', on a given day."""
    with rt.transaction() as s:
        resp, _ = conversation.start(
            s, s.merge(rnd), rt.context, channel="web", audience="child", lang="en"
        )
        rid = resp.id
    for i, inbound in enumerate(
        (engine.Inbound(choice="yes"), engine.Inbound(choice="good"), engine.Inbound(text=text))
    ):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, inbound, key=f"web:{rid}:{i}")
    with rt.transaction() as s:
        s.execute(update(Respondent).where(Respondent.id == rid).values(created_at=when))
        s.execute(update(Answer).where(Answer.respondent_id == rid).values(created_at=when))


def test_a_rolling_round_has_no_closing_date(rt):
    with rt.transaction() as s, pytest.raises(store.RoundInvalid, match="no closing date"):
        store.open_round(
            s,
            rt.catalogue,
            title="All year",
            priorities=["policing"],
            audiences=["child"],
            rolling=True,
            closes_on=datetime.now(UTC).date(),
        )


def test_results_by_month_with_small_months_hidden(rt):
    rnd = rolling_round(rt)
    for _ in range(11):
        answer(rt, rnd, datetime(2027, 1, 15, 12, tzinfo=UTC), "They really helped me, thanks.")
    for _ in range(3):
        answer(rt, rnd, datetime(2027, 3, 31, 23, 30, tzinfo=UTC), "It was fine.")
    with rt.transaction() as s:
        facts = monthly.load(s, s.merge(rnd))
        result = monthly.by_month(s, s.merge(rnd))
    assert dict(facts.people) == {(2027, 1): 11, (2027, 3): 3}  # the 31st at 23:30 UTC: March
    assert dict(facts.answers) == {(2027, 1): 22, (2027, 3): 6}
    assert dict(facts.writers) == {(2027, 1): 11, (2027, 3): 3}
    assert [monthly.ByMonth.label(m) for m in result.months] == [
        "January 2027",
        "February 2027",  # a quiet month is shown, with nobody in it
        "March 2027",
    ]
    people = result.people
    assert [people.cell_text(i, 0) for i in range(3)] == ["11", "0", f"fewer than {MIN_GROUP}"]
    # the total would give March away (14 - 11): it is hidden too, or January is
    shown_total = people.column_totals[0]
    hidden = [i for i in range(3) if people.cells[i][0] is None]
    assert shown_total is None or len(hidden) >= 2
    assert result.answers == (22, 0, 6)
    sentiment = result.sentiment
    assert sentiment.row_hidden(2)  # March: fewer than 10 people wrote
    assert sentiment.row_totals[0] == 11 and sum(c or 0 for c in sentiment.cells[0]) == 11
    assert result.suppressed


def test_build_hides_what_a_total_would_give_away():
    facts = monthly.MonthFacts(
        people=(((2027, 1), 25), ((2027, 2), 4), ((2027, 3), 30)),
        answers=(((2027, 1), 50), ((2027, 2), 8), ((2027, 3), 60)),
    )
    table = monthly.build(facts).people
    values = [table.cells[i][0] for i in range(3)]
    assert values[1] is None
    total = table.column_totals[0]
    if total is not None:  # then a second month is hidden, so February cannot be worked out
        assert values.count(None) >= 2


def test_no_answers_yet_is_an_empty_result(rt):
    rnd = rolling_round(rt)
    with rt.transaction() as s:
        result = monthly.by_month(s, s.merge(rnd))
    assert result.months == () and result.answers == ()
