"""A rolling round's results by month: counted in SQL on both databases, small numbers hidden."""

from __future__ import annotations

import itertools
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
    # the total (printed by the who-took-part table too) would give March away (14 - 11):
    # January is hidden as well, never the total
    assert [people.cell_text(i, 0) for i in range(3)] == [
        "not shown",
        "0",
        f"fewer than {MIN_GROUP}",
    ]
    assert people.column_total_text(0) == "14"
    assert result.answers == (22, 0, 6)
    sentiment = result.sentiment
    assert sentiment.row_hidden(2)  # March: fewer than 10 people wrote
    assert sentiment.row_totals[0] == 11 and sum(c or 0 for c in sentiment.cells[0]) == 11
    assert result.suppressed


def _possible(table, counts, m):
    """Return, per hidden month, every value a reader could give it from what is printed.

    A reader knows the total (the who-took-part table prints it even when this one does
    not, unless it is small), that "fewer than m" is 1 to m-1, and that "not shown" is a
    count (as ``surveys.export.suppression`` models what a reader knows).
    """
    total = sum(counts)
    hidden = [i for i, row in enumerate(table.cells) if row[0] is None]
    shown = sum(row[0] for row in table.cells if row[0] is not None)
    if not hidden or 0 < total < m:
        return {}
    ranges = []
    for i in hidden:
        if table.kinds[("cell", i, 0)] == "primary":
            ranges.append(range(1, m))
        else:
            ranges.append(range(0, total + 1))
    seen = {i: set() for i in hidden}
    for values in itertools.product(*ranges):
        if sum(values) == total - shown:
            for i, v in zip(hidden, values, strict=True):
                seen[i].add(v)
    return seen


@pytest.mark.parametrize("m", [3, 5])
def test_no_hidden_month_can_be_worked_out_from_the_total(m):
    checked = 0
    for n in range(1, 4):
        for counts in itertools.product(range(0, 2 * m + 2), repeat=n):
            table = monthly.people_by_month([f"m{i}" for i in range(n)], list(counts), m)
            for i, v in enumerate(counts):
                if table.cells[i][0] is None:
                    continue
                assert v == 0 or v >= m, (counts, "a small month printed")
            possible = _possible(table, counts, m)
            for i, values in possible.items():
                assert len(values) > 1, (counts, i, values)
            checked += 1
    assert checked > 100


def test_no_answers_yet_is_an_empty_result(rt):
    rnd = rolling_round(rt)
    with rt.transaction() as s:
        result = monthly.by_month(s, s.merge(rnd))
    assert result.months == () and result.answers == ()
