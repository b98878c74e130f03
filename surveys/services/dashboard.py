"""A round at a glance: who took part and how, how far review has got, what people feel.

``load_facts`` reads a handful of grouped counts from the database (never a word of any
answer); ``build`` turns them into tables, a pure function; ``render_chart`` draws one chart
as SVG with matplotlib (Agg backend, no pyplot state), byte-for-byte the same for the same
numbers.

Small numbers: every count broken down by a group of people (audience, channel) goes through
``surveys.export.suppression.suppress``, exactly as the plan's export does, and the charts
are drawn from the suppressed tables, so a chart never shows what its table hides. Counts
per priority and per day are about topics and dates, not groups of people, and are shown.
Answers with the safeguarding lead are counted, never shown.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from surveys.core.catalogue import Catalogue
from surveys.core.vocabulary import (
    AUDIENCE_LABELS,
    AUDIENCES,
    CHANNEL_LABELS,
    REVIEW_STATUS_LABELS,
    SENTIMENT_LABELS,
    SENTIMENTS,
)
from surveys.export.suppression import (
    MIN_GROUP,
    NOT_SHOWN,
    SafeTable,
    Suppression,
    percent,
    suppress,
)
from surveys.storage.models import Answer, Respondent, Round, SafeguardingCase

CHARTS: dict[str, str] = {
    "priorities": "Written answers by priority and review status",
    "people": "People who took part, by group and channel",
    "completion": "Share of people who finished, by group",
    "time": "Answers per day",
    "sentiment": "Sentiment of written answers, by priority",
}
UNKNOWN_AUDIENCE = "not chosen yet"


# ---- facts: plain counts read from the database ---------------------------------------------
#: The parts of the facts each chart needs (the page needs them all).
PARTS: tuple[str, ...] = ("answers", "people", "respondents", "per_day")
CHART_PARTS: dict[str, tuple[str, ...]] = {
    "priorities": ("answers",),
    "people": ("respondents",),
    "completion": ("respondents",),
    "time": ("per_day",),
    "sentiment": ("answers", "people"),
}


@dataclass(frozen=True)
class Facts:
    """Grouped counts for one round; no text, no ids."""

    code: str
    title: str
    priorities: tuple[str, ...]  # the round's own, in plan order
    # (priority, sentiment, written, hidden, status, is_quote) -> answers
    answers: tuple[tuple[tuple[Any, ...], int], ...] = ()
    # (priority, audience) -> people with at least one live answer filed under the priority
    people: tuple[tuple[tuple[str, str], int], ...] = ()
    # (audience, channel, finished) -> respondents
    respondents: tuple[tuple[tuple[str | None, str, bool], int], ...] = ()
    per_day: tuple[tuple[date, int], ...] = ()


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _sorted(counts: Counter[Any]) -> tuple[tuple[Any, int], ...]:
    return tuple(sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: repr(kv[0])))


def load_facts(session: Session, rnd: Round, parts: Sequence[str] = PARTS) -> Facts:
    """Read the counts a dashboard (or one chart) needs: a few grouped queries, no text.

    Shaped for PostgreSQL's planner at 100,000 answers: the big grouping uses only columns
    with statistics (a column that is nearly always empty, like an override, or an
    expression such as COALESCE, is guessed at 200 values, and the planner then sorts every
    row instead of hashing a few hundred groups); the rare answers with an override or a
    safeguarding case but no flag are read apart and folded in here.
    """
    live = [Answer.round_id == rnd.id, Answer.superseded.is_(False)]
    answers: Counter[tuple[Any, ...]] = Counter()
    if "answers" in parts:
        plain = and_(Answer.priority_override.is_(None), Answer.sentiment_override.is_(None))
        keys = (
            Answer.priority,
            Answer.sentiment,
            Answer.flagged,
            Answer.review_status,
            Answer.is_quote,
        )
        grouped = (
            select(
                *keys,
                func.count().filter(plain & Answer.choice.is_(None)),
                func.count().filter(plain & Answer.choice.is_not(None)),
            )
            .where(*live)
            .group_by(*keys)
        )
        for prio, feel, flagged, status, quote, written, taps in session.execute(grouped):
            answers[(prio, feel, True, bool(flagged), status, bool(quote))] += written
            answers[(prio, feel, False, bool(flagged), status, bool(quote))] += taps
        cols = (
            Answer.priority,
            Answer.priority_override,
            Answer.sentiment,
            Answer.sentiment_override,
            Answer.choice.is_(None),
            Answer.flagged,
            Answer.review_status,
            Answer.is_quote,
        )
        overridden = select(*cols, func.count()).where(*live, ~plain).group_by(*cols)
        for prio, prio_o, feel, feel_o, written, flagged, status, quote, n in session.execute(
            overridden
        ):
            answers[
                (prio_o or prio, feel_o or feel, bool(written), bool(flagged), status, bool(quote))
            ] += n
        # Answers with a safeguarding case but no flag are hidden too: few, found by a join.
        cased = (
            select(*cols, func.count())
            .select_from(SafeguardingCase)
            .join(Answer, Answer.id == SafeguardingCase.answer_id)
            .where(SafeguardingCase.round_id == rnd.id, *live, Answer.flagged.is_(False))
            .group_by(*cols)
        )
        for prio, prio_o, feel, feel_o, written, _, status, quote, n in session.execute(cased):
            key = (prio_o or prio, feel_o or feel, bool(written))
            answers[(*key, False, status, bool(quote))] -= n
            answers[(*key, True, status, bool(quote))] += n
    people: Counter[tuple[str, str]] = Counter()
    if "people" in parts:
        # COUNT(DISTINCT) sorts whatever the grouping, so group by the priority as filed:
        # adding up per-column groups would count a person twice across an override.
        filed = func.coalesce(Answer.priority_override, Answer.priority)
        who: Any = Answer.respondent_id
        if session.get_bind().dialect.name == "postgresql":
            # Sorting 64-bit hashes is far cheaper than sorting 32-character ids; with a
            # few hundred thousand people a collision is about a one-in-a-billion chance.
            who = func.hashtextextended(Answer.respondent_id, 0)
        for filed_as, audience, n in session.execute(
            select(filed, Answer.audience, func.count(distinct(who)))
            .where(*live)
            .group_by(filed, Answer.audience)
        ):
            people[(filed_as, audience)] += n
    respondents: Counter[tuple[str | None, str, bool]] = Counter()
    if "respondents" in parts:
        rcols = (Respondent.audience, Respondent.channel, Respondent.completed_at.is_(None))
        for aud, channel, unfinished, n in session.execute(
            select(*rcols, func.count()).where(Respondent.round_id == rnd.id).group_by(*rcols)
        ):
            respondents[(aud, channel, not unfinished)] += n
    per_day: tuple[tuple[date, int], ...] = ()
    if "per_day" in parts:
        day = func.date(Answer.created_at)
        per_day = tuple(
            (_as_date(d), int(n))
            for d, n in session.execute(
                select(day, func.count()).where(*live).group_by(day).order_by(day)
            )
            if d is not None
        )
    return Facts(
        code=rnd.code,
        title=rnd.title,
        priorities=tuple(rnd.priorities),
        answers=_sorted(answers),
        people=_sorted(people),
        respondents=_sorted(respondents),
        per_day=per_day,
    )


# ---- the dashboard: tables, small numbers suppressed ---------------------------------------
@dataclass(frozen=True)
class PriorityRow:
    """Review progress for one priority (written answers not with the safeguarding lead)."""

    key: str
    title: str
    answers: int  # every live answer filed under it, taps included
    written: int
    approved: int
    pending: int
    rejected: int
    quotes: int


@dataclass(frozen=True)
class Totals:
    """Headline numbers for the round."""

    respondents: int
    finished: int
    answers: int
    written: int
    pending: int
    approved: int
    rejected: int
    quotes: int
    hidden: int


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard page prints."""

    code: str
    title: str
    min_group: int
    totals: Totals
    priorities: tuple[PriorityRow, ...]
    people: SafeTable  # priority x audience: people who answered on it
    who: SafeTable  # audience x channel: people who started, with totals
    completion: SafeTable  # audience x (finished, not finished), as row percentages
    sentiment: SafeTable  # priority x sentiment: written answers
    per_day: tuple[tuple[date, int], ...]
    group_started: dict[str, int]  # group label -> people who started (for percentages)

    @property
    def started_text(self) -> str:
        """Return how many people started, as the who-took-part table's total prints it."""
        return self.who.grand_total_text() if self.who.rows else "0"

    @property
    def finished_text(self) -> str:
        """Return the share of people who finished (a percentage, never a count).

        A count would sit beside the completion table's percentages and the who-took-part
        table's counts, and a hidden group could be worked out from the three.
        """
        if self.who.grand_total is None or not self.totals.respondents:
            return NOT_SHOWN
        return f"{percent(self.totals.finished, self.totals.respondents)}%"

    def people_share(self, i: int, j: int) -> str:
        """Return the share of a group who answered on a priority (never a count of people).

        Every person belongs to one group but answers on many priorities, so these are
        printed as percentages of the group who started: counts here would be subtracted
        from the who-took-part table's.
        """
        value = self.people.cells[i][j]
        if value is None:
            return self.people.cell_text(i, j)
        started = self.group_started.get(self.people.columns[j], 0)
        return f"{percent(value, started)}%" if started else "0%"

    @property
    def suppressed(self) -> tuple[Suppression, ...]:
        """Return every hidden number, with why, for the lead to see."""
        return (
            *self.who.suppressed,
            *self.completion.suppressed,
            *self.people.suppressed,
            *self.sentiment.suppressed,
        )


def _priority_order(facts: Facts, catalogue: Catalogue, seen: set[str]) -> list[str]:
    order = {b.key: b.order for b in catalogue.banks}
    keys = list(
        dict.fromkeys([*facts.priorities, *sorted(seen, key=lambda k: (order.get(k, 999), k))])
    )
    return sorted(keys, key=lambda k: (order.get(k, 999), k))


def build(facts: Facts, catalogue: Catalogue, *, min_group: int = MIN_GROUP) -> Dashboard:
    """Return the dashboard's tables from a round's counts."""
    titles = {b.key: b.title for b in catalogue.banks}
    by_prio: dict[str, Counter[str]] = defaultdict(Counter)
    feel: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for (prio, sentiment, written, hidden, status, is_quote), n in facts.answers:
        c = by_prio[prio]
        c["answers"] += n
        totals["answers"] += n
        if not written:
            continue
        if hidden:
            totals["hidden"] += n
            continue
        c["written"] += n
        c[status] += n
        totals["written"] += n
        totals[status] += n
        if is_quote and status == "approved":
            c["quotes"] += n
            totals["quotes"] += n
        if sentiment in SENTIMENT_LABELS:
            feel[prio][sentiment] += n

    people: dict[tuple[str, str], int] = dict(facts.people)
    everyone: Counter[str] = Counter()
    for (prio, _aud), n in facts.people:
        everyone[prio] += n  # one group per person: adding audiences up counts no one twice
    keys = _priority_order(facts, catalogue, set(by_prio))
    rows = tuple(
        PriorityRow(
            k,
            titles.get(k, k),
            by_prio[k]["answers"],
            by_prio[k]["written"],
            by_prio[k]["approved"],
            by_prio[k]["pending"],
            by_prio[k]["rejected"],
            by_prio[k]["quotes"],
        )
        for k in keys
    )
    auds = [a for a in AUDIENCES if any(k[1] == a for k in people)]
    people_table = suppress(
        [[people.get((k, a), 0) for a in auds] for k in keys],
        rows=[titles.get(k, k) for k in keys],
        columns=[AUDIENCE_LABELS.get(a, a) for a in auds],
        title="People who answered, by priority",
        min_group=min_group,
        rule="cell",
        # Printed as percentages of each group (see Dashboard.people_share): no totals.
    )

    started: Counter[tuple[str, str]] = Counter()
    done: Counter[str] = Counter()
    begun: Counter[str] = Counter()
    for (aud, channel, finished), n in facts.respondents:
        a = aud or UNKNOWN_AUDIENCE
        started[(a, channel)] += n
        begun[a] += n
        if finished:
            done[a] += n
    resp_auds = [a for a in (*AUDIENCES, UNKNOWN_AUDIENCE) if begun.get(a)]
    channels = sorted({c for _, c in started})
    label = {**AUDIENCE_LABELS, UNKNOWN_AUDIENCE: "Not chosen yet"}
    who = suppress(
        [[started[(a, c)] for c in channels] for a in resp_auds],
        rows=[label.get(a, a) for a in resp_auds],
        columns=[CHANNEL_LABELS.get(c, c) for c in channels],
        title="People who started, by group and channel",
        min_group=min_group,
        rule="cell",
        row_totals=True,
        column_totals=True,
    )
    completion = suppress(
        [[done[a], begun[a] - done[a]] for a in resp_auds],
        rows=[label.get(a, a) for a in resp_auds],
        columns=["Finished", "Not finished"],
        title="Who finished",
        min_group=min_group,
        rule="row",
        row_totals=True,
        column_totals=True,
    )
    sent_keys = [k for k in keys if feel.get(k)]
    sentiment = suppress(
        [[feel[k][s] for s in SENTIMENTS] for k in sent_keys],
        rows=[titles.get(k, k) for k in sent_keys],
        columns=[SENTIMENT_LABELS[s] for s in SENTIMENTS],
        title="Sentiment of written answers",
        min_group=min_group,
        rule="row",
        row_totals=True,
        # Answers are counted, but the group is the people who answered on the priority
        # (as the plan's export counts them).
        group_sizes=[everyone[k] for k in sent_keys],
    )
    return Dashboard(
        code=facts.code,
        title=facts.title,
        min_group=min_group,
        totals=Totals(
            respondents=sum(begun.values()),
            finished=sum(done.values()),
            answers=totals["answers"],
            written=totals["written"],
            pending=totals["pending"],
            approved=totals["approved"],
            rejected=totals["rejected"],
            quotes=totals["quotes"],
            hidden=totals["hidden"],
        ),
        priorities=rows,
        people=people_table,
        who=who,
        completion=completion,
        sentiment=sentiment,
        per_day=facts.per_day,
        group_started={label.get(a, a): begun[a] for a in resp_auds},
    )


def fill_days(per_day: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """Return one entry per day from the first to the last answer (0 on quiet days)."""
    if not per_day:
        return []
    counts = dict(per_day)
    first, last = per_day[0][0], per_day[-1][0]
    span = (last - first).days
    return [(first + timedelta(d), counts.get(first + timedelta(d), 0)) for d in range(span + 1)]


# ---- charts -------------------------------------------------------------------------------
COLOURS = {
    "approved": "#00703c",
    "pending": "#b1b4b6",
    "rejected": "#505a5f",
    "positive": "#1d70b8",
    "neutral": "#b1b4b6",
    "negative": "#f47738",
    "bar": "#1d70b8",
    "ink": "#0b0c0c",
}
_CHANNEL_COLOURS = ("#1d70b8", "#f47738", "#00703c", "#912b88", "#505a5f")


def chart_spec(dash: Dashboard, name: str) -> tuple[Any, ...]:
    """Return the plain numbers one chart draws (hashable: charts are cached on it)."""
    if name == "priorities":
        return (
            "priorities",
            tuple((r.title, r.approved, r.pending, r.rejected) for r in dash.priorities),
        )
    if name == "people":
        t = dash.who
        # A hidden count is drawn as the words its table prints ("fewer than 10"/"not shown").
        labels = tuple(
            tuple(t.cell_text(i, j) if v is None else "" for j, v in enumerate(row))
            for i, row in enumerate(t.cells)
        )
        return ("people", t.rows, t.columns, t.cells, labels)
    if name == "completion":
        t = dash.completion
        shares = []
        for i, row in enumerate(t.rows):
            total = t.row_totals[i] if t.row_totals else None
            value = t.cells[i][0]
            share = None if value is None or not total else 100.0 * value / total
            shares.append((row, share, t.percent_text(i, 0)))
        return ("completion", tuple(shares))
    if name == "time":
        return ("time", tuple((d.isoformat(), n) for d, n in fill_days(dash.per_day)))
    if name == "sentiment":
        t = dash.sentiment
        texts = tuple(t.cell_text(i, 0) for i in range(len(t.rows)))
        return ("sentiment", t.rows, t.cells, t.row_totals or (), texts)
    raise KeyError(name)


def render_chart(spec: tuple[Any, ...]) -> bytes:
    """Draw one chart as SVG (the same bytes for the same numbers)."""
    return _render(spec)


@lru_cache(maxsize=256)
def _render(spec: tuple[Any, ...]) -> bytes:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    kind = spec[0]
    height = {
        "priorities": 0.9 + 0.42 * max(1, len(spec[1])),
        "sentiment": 0.9 + 0.42 * max(1, len(spec[1])),
        "completion": 0.9 + 0.42 * max(1, len(spec[1])),
        "people": 3.2,
        "time": 3.0,
    }[kind]
    with _style():
        fig = Figure(figsize=(7.5, height), dpi=96)
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        {
            "priorities": _draw_priorities,
            "people": _draw_people,
            "completion": _draw_completion,
            "time": _draw_time,
            "sentiment": _draw_sentiment,
        }[kind](ax, spec)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()


def _style() -> Any:
    import matplotlib

    return matplotlib.rc_context(
        {
            "svg.hashsalt": "yjvoice",  # fixed ids: the same numbers give the same bytes
            "svg.fonttype": "none",  # real text: smaller, selectable, read by screen readers
            "font.family": "DejaVu Sans",
            "font.size": 10,
            "axes.edgecolor": COLOURS["ink"],
            "axes.labelcolor": COLOURS["ink"],
            "xtick.color": COLOURS["ink"],
            "ytick.color": COLOURS["ink"],
            "text.color": COLOURS["ink"],
        }
    )


def _no_data(ax: Any) -> None:
    ax.text(0.5, 0.5, "No answers yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_priorities(ax: Any, spec: tuple[Any, ...]) -> None:
    rows = spec[1]
    if not rows or not any(sum(r[1:]) for r in rows):
        _no_data(ax)
        return
    labels = [r[0] for r in rows][::-1]
    left = [0] * len(rows)
    for k, (key, label) in enumerate(REVIEW_STATUS_LABELS.items()):
        values = [r[1 + k] for r in rows][::-1]
        ax.barh(labels, values, left=left, color=COLOURS[key], label=label, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("Written answers")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncols=3, fontsize=9)
    ax.margins(x=0.05)


def _draw_people(ax: Any, spec: tuple[Any, ...]) -> None:
    _, rows, columns, cells, labels = spec
    if not rows or not columns:
        _no_data(ax)
        return
    width = 0.8 / len(columns)
    for j, col in enumerate(columns):
        xs = [i + (j - (len(columns) - 1) / 2) * width for i in range(len(rows))]
        values = [cells[i][j] for i in range(len(rows))]
        colour = _CHANNEL_COLOURS[j % len(_CHANNEL_COLOURS)]
        ax.bar(xs, [v or 0 for v in values], width=width * 0.95, color=colour, label=col)
        for i, (x, v) in enumerate(zip(xs, values, strict=True)):
            if v is None:
                ax.text(x, 0, labels[i][j], rotation=90, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(rows)), rows)
    ax.set_ylabel("People")
    tallest = max((v or 0 for r in cells for v in r), default=0)
    ax.set_ylim(0, max(10, tallest) * 1.15)  # never an axis below zero, even when all hidden
    ax.legend(frameon=False, fontsize=9)


def _draw_completion(ax: Any, spec: tuple[Any, ...]) -> None:
    _, shares = spec
    if not shares:
        _no_data(ax)
        return
    bottom_up = list(shares)[::-1]
    values = [v for _, v, _ in bottom_up]
    ax.barh(
        [r for r, _, _ in bottom_up], [v or 0 for v in values], color=COLOURS["bar"], height=0.6
    )
    for y, (_, v, text) in enumerate(bottom_up):
        ax.text((v or 0) + 1, y, text, va="center", fontsize=9)
    ax.set_xlim(0, 110)
    ax.set_xlabel("Finished (%)")


def _draw_time(ax: Any, spec: tuple[Any, ...]) -> None:
    days = spec[1]
    if not days:
        _no_data(ax)
        return
    xs = list(range(len(days)))
    ax.bar(xs, [n for _, n in days], color=COLOURS["bar"], width=0.8)
    step = max(1, len(days) // 8)
    ticks = xs[::step]
    ax.set_xticks(ticks, [date.fromisoformat(days[i][0]).strftime("%d %b") for i in ticks])
    ax.set_ylabel("Answers")


def _draw_sentiment(ax: Any, spec: tuple[Any, ...]) -> None:
    _, rows, cells, totals, labels = spec
    if not rows:
        _no_data(ax)
        return
    labels = list(rows)[::-1]
    left = [0.0] * len(rows)
    for k, (key, label) in enumerate(SENTIMENT_LABELS.items()):
        values = []
        for i in range(len(rows))[::-1]:
            v, t = cells[i][k], totals[i] if totals else None
            values.append(0.0 if v is None or not t else 100.0 * v / t)
        ax.barh(labels, values, left=left, color=COLOURS[key], label=label, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, i in enumerate(range(len(rows))[::-1]):
        if all(v is None for v in cells[i]):
            ax.text(1, y, labels[i], va="center", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of written answers (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncols=3, fontsize=9)
