"""A rolling round's results by month: who answered and how they felt, small numbers hidden.

A rolling round (end-of-intervention feedback, say) is open all year with no closing date,
so its results are read month by month. ``load`` reads grouped counts (never a word of any
answer): people who started per month, answers per month, written answers per month and
sentiment, and the people behind them; ``build`` turns them into tables by the rules of
``surveys.export.suppression`` that the round page's and the dashboard's tables follow: a
month of fewer than ``min_group`` people is "fewer than 10", and a hidden count cannot be
worked out from the totals. Months are calendar months in UTC, as the dashboard's
days are.

People by month are not broken down by group as well: the round page's "who took part"
table already prints the groups with the same grand total, and two breakdowns of one total
printed side by side would let a reader subtract one from the other. For the same reason
the months' total is never hidden as a secondary (the who-took-part table prints it
anyway): ``people_by_month`` hides another month instead, so no hidden month can be worked
out from the total, whichever page it is read from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import distinct, extract, func, select
from sqlalchemy.orm import Session

from surveys.core.vocabulary import SENTIMENT_LABELS, SENTIMENTS
from surveys.export.suppression import MIN_GROUP, SafeTable, Suppression, suppress
from surveys.storage.models import Answer, Respondent, Round

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class MonthFacts:
    """Grouped counts of one round by month; no text, no ids."""

    # month -> people who started that month
    people: tuple[tuple[Month, int], ...] = ()
    # month -> live answers given that month
    answers: tuple[tuple[Month, int], ...] = ()
    # (month, sentiment) -> written answers given that month (not flagged)
    sentiment: tuple[tuple[tuple[Month, str], int], ...] = ()
    # month -> people with a written answer that month (the group behind its sentiment)
    writers: tuple[tuple[Month, int], ...] = ()


def _month(column: Any, dialect: str) -> tuple[Any, Any]:
    if dialect == "postgresql":
        column = func.timezone("UTC", column)  # a calendar month in UTC, whatever the session
    return extract("year", column), extract("month", column)


def load(session: Session, rnd: Round) -> MonthFacts:
    """Read a round's counts by month (a few grouped queries)."""
    dialect = session.get_bind().dialect.name
    ry, rm = _month(Respondent.created_at, dialect)
    people = [
        ((int(y), int(m)), int(n))
        for y, m, n in session.execute(
            select(ry, rm, func.count()).where(Respondent.round_id == rnd.id).group_by(ry, rm)
        )
    ]
    ay, am = _month(Answer.created_at, dialect)
    live = (Answer.round_id == rnd.id, Answer.superseded.is_(False))
    answers = [
        ((int(y), int(m)), int(n))
        for y, m, n in session.execute(select(ay, am, func.count()).where(*live).group_by(ay, am))
    ]
    written = (*live, Answer.choice.is_(None), Answer.flagged.is_(False))
    feel = func.coalesce(Answer.sentiment_override, Answer.sentiment)
    sentiment = [
        (((int(y), int(m)), str(s)), int(n))
        for y, m, s, n in session.execute(
            select(ay, am, feel, func.count()).where(*written).group_by(ay, am, feel)
        )
        if s is not None
    ]
    writers = [
        ((int(y), int(m)), int(n))
        for y, m, n in session.execute(
            select(ay, am, func.count(distinct(Answer.respondent_id)))
            .where(*written)
            .group_by(ay, am)
        )
    ]
    return MonthFacts(tuple(people), tuple(answers), tuple(sentiment), tuple(writers))


@dataclass(frozen=True)
class ByMonth:
    """What the round page prints for a rolling round."""

    months: tuple[Month, ...]
    people: SafeTable  # month x one column: people who started, with the grand total
    answers: tuple[int, ...]  # answers per month (about dates, not groups of people)
    sentiment: SafeTable  # month x sentiment: written answers
    min_group: int

    @staticmethod
    def label(month: Month) -> str:
        """Return a month as people read it ("March 2027")."""
        return date(month[0], month[1], 1).strftime("%B %Y")

    @property
    def suppressed(self) -> tuple[Suppression, ...]:
        """Return every hidden number, with why."""
        return (*self.people.suppressed, *self.sentiment.suppressed)


def people_by_month(rows: list[str], counts: list[int], min_group: int) -> SafeTable:
    """Return people per month with their total, suppressed for a total printed elsewhere.

    The total (everyone who started) is printed by the who-took-part table whatever this
    table does, so it is hidden only when it is small itself; a month that is hidden is
    protected by hiding another month (the smallest shown, a quiet month if need be), never
    the total. With a second hidden month that is not a small group itself ("not shown",
    so 0 or at least ``min_group``), no hidden month follows from the total.
    """
    total = sum(counts)
    title = "People who started, by month"
    hidden: dict[tuple[str, int, int], str] = {}
    notes: list[Suppression] = []
    for i, n in enumerate(counts):
        if 0 < n < min_group:
            hidden[("cell", i, 0)] = "primary"
            notes.append(
                Suppression(title, rows[i], "", "primary", f"fewer than {min_group} people")
            )
    if 0 < total < min_group:
        hidden[("col_total", 0, 0)] = "primary"
        why = f"fewer than {min_group} people"
        notes.append(Suppression(title, "All months", "", "primary", why))
    elif hidden:
        shown = [i for i in range(len(counts)) if ("cell", i, 0) not in hidden]
        if not shown and len(hidden) > 1:
            # Every month is small and the total is printed: "fewer than 10" each and their
            # sum could pin them all (9 + 9 = 18). Say less of the largest: "not shown".
            i = max(range(len(counts)), key=lambda k: (counts[k], k))
            hidden[("cell", i, 0)] = "secondary"
            notes.append(
                Suppression(
                    title,
                    rows[i],
                    "",
                    "secondary",
                    "not shown, otherwise every month could be worked out from the total",
                )
            )
        if shown:
            i = min(shown, key=lambda k: (counts[k] == 0, counts[k], k))
            hidden[("cell", i, 0)] = "secondary"
            notes.append(
                Suppression(
                    title,
                    rows[i],
                    "",
                    "secondary",
                    "hidden as well, otherwise a hidden month could be worked out from the "
                    "total of everyone who started",
                )
            )
    cells = tuple((None if ("cell", i, 0) in hidden else n,) for i, n in enumerate(counts))
    shown_total = None if ("col_total", 0, 0) in hidden else total
    return SafeTable(
        title,
        tuple(rows),
        ("People who started",),
        cells,
        None,
        (shown_total,),
        None,
        min_group,
        tuple(notes),
        dict(hidden),
    )


def _every_month(seen: set[Month]) -> list[Month]:
    """Return every month from the first to the last seen (quiet months included)."""
    if not seen:
        return []
    (y, m), last = min(seen), max(seen)
    out = []
    while (y, m) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build(facts: MonthFacts, *, min_group: int = MIN_GROUP) -> ByMonth:
    """Return a rolling round's tables by month, small numbers suppressed."""
    people = dict(facts.people)
    answers = dict(facts.answers)
    feel = Counter({k: n for k, n in facts.sentiment})
    writers = dict(facts.writers)
    months = _every_month(set(people) | set(answers))
    names = [ByMonth.label(m) for m in months]
    people_table = people_by_month(names, [people.get(m, 0) for m in months], min_group)
    sentiment_table = suppress(
        [[feel[(m, s)] for s in SENTIMENTS] for m in months],
        rows=names,
        columns=[SENTIMENT_LABELS[s] for s in SENTIMENTS],
        title="Sentiment of written answers, by month",
        min_group=min_group,
        rule="row",
        row_totals=True,
        # answers are counted; the group is the people who wrote them that month
        group_sizes=[writers.get(m, 0) for m in months],
    )
    return ByMonth(
        tuple(months),
        people_table,
        tuple(answers.get(m, 0) for m in months),
        sentiment_table,
        min_group,
    )


def by_month(session: Session, rnd: Round, *, min_group: int = MIN_GROUP) -> ByMonth:
    """Return a round's results by month, as the round page prints them."""
    return build(load(session, rnd), min_group=min_group)
