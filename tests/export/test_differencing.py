"""No hidden number can be worked out by adding or subtracting printed ones (issue 13).

Each check reads what a document or page prints, and maps every printed count of people to
the people it counts: the test knows every invented respondent. A count is a union of
"atoms", the finest groups a reader can tell apart from the labels (a group on a channel,
say), so that what a reader knows is used and nothing more: that the people on the web in
one group are part of that group, not that a hidden cell happens to be empty. Then it tries
every difference of two printed counts (one inside the other), every difference of a count
and two disjoint others inside it, and every sum of two disjoint ones: none may give a group
of fewer than ``min_group`` people, or the people behind a number the document hides.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import date

from surveys.core.catalogue import default_catalogue
from surveys.export.markdown import render_markdown
from surveys.export.plan import AnswerRow, RoundInfo, plan_from_rows
from surveys.services import dashboard

MIN = 10
Atoms = frozenset[str]


def leaks(
    shown: Mapping[str, Atoms],
    people: Mapping[str, int],
    hidden: Iterable[Atoms] = (),
    min_group: int = MIN,
) -> list[str]:
    """Return each small or hidden group that sums and differences of shown counts give.

    ``shown`` maps each printed count to its atoms, ``people`` each atom to how many it
    holds, ``hidden`` lists the atoms behind each number the document hides.
    """
    secret = {h for h in hidden if sum(people.get(a, 0) for a in h)}
    sets = list(shown.items())
    found: list[str] = []

    def check(how: str, atoms: Atoms) -> None:
        size = sum(people.get(a, 0) for a in atoms)
        if size and (size < min_group or atoms in secret):
            found.append(f"{how} = {size}")

    for (a, sa), (b, sb) in itertools.permutations(sets, 2):
        if sb < sa:
            check(f"{a} - {b}", sa - sb)
        if not sa & sb:
            check(f"{a} + {b}", sa | sb)
        for c, sc in sets:
            if c not in (a, b) and sb < sa and sc < sa and not sb & sc:
                check(f"{a} - {b} - {c}", sa - sb - sc)
    return found


# ---- the check itself can fail ----------------------------------------------------------


def test_the_check_finds_the_leaks_the_issue_reported():
    # "The Word appendix's parent total minus '11 parents' gives 1."
    people = {"parent+policing": 11, "parent-policing": 1}
    shown = {
        "parents": frozenset(people),
        "parents on policing": frozenset({"parent+policing"}),
    }
    assert leaks(shown, people) == ["parents - parents on policing = 1"]
    # "The dashboard's total minus the completion table gives a hidden count of 3."
    people = {"child": 20, "partner": 3}
    shown = {"started": frozenset(people), "children": frozenset({"child"})}
    assert leaks(shown, people, [frozenset({"partner"})]) == ["started - children = 3"]
    # Two counts that merely differ by 3 give nothing away.
    people = {"child": 20, "parent": 17}
    assert leaks({"a": frozenset({"child"}), "b": frozenset({"parent"})}, people) == []


# ---- the plan ---------------------------------------------------------------------------

INFO = RoundInfo(
    code="ABC234",
    title="Plan",
    status="closed",
    priorities=("policing", "education", "remands"),
    audiences=("child", "parent", "staff"),
    created_on=date(2027, 1, 4),
    opened_on=date(2027, 1, 4),
    closed_on=date(2027, 2, 28),
    closes_on=None,
)


def _row(n, who, audience, priority, qid, channel="web", text="", choice=None, quote=False):
    return AnswerRow(
        n, who, priority, qid, audience, channel, choice, text, "positive", quote, False, ()
    )


def _round() -> tuple[list[AnswerRow], dict[str, frozenset[str]]]:
    """12 young people (2 by Telegram), 12 parents (1 by Telegram), 3 staff; not everyone
    answered every priority: the numbers the issue's leaks came from."""
    rows: list[AnswerRow] = []
    groups: dict[str, set[str]] = {"child": set(), "parent": set(), "staff": set()}
    n = itertools.count()
    for i in range(12):
        who, channel = f"c{i}", "telegram" if i < 2 else "web"
        groups["child"].add(who)
        rows.append(_row(next(n), who, "child", "policing", "policing.opinion", channel,
                         f"Child answer {i}.", quote=True))  # fmt: skip
        if i < 10:
            rows.append(_row(next(n), who, "child", "education", "education.experience",
                             channel, f"School {i}.", quote=True))  # fmt: skip
        rows.append(_row(next(n), who, "child", "general", "general.rating", channel,
                         "Good", choice="good" if i else "poor"))  # fmt: skip
    for i in range(12):
        who = f"p{i}"
        groups["parent"].add(who)
        channel = "telegram" if i == 1 else "web"
        if i:  # 11 of the 12 parents answered on policing
            rows.append(_row(next(n), who, "parent", "policing", "policing.opinion", channel,
                             f"Parent {i}.", quote=True))  # fmt: skip
        else:
            rows.append(_row(next(n), who, "parent", "remands", "remands.support", "web",
                             "Remand support.", quote=True))  # fmt: skip
    for i in range(3):
        groups["staff"].add(f"s{i}")
        rows.append(_row(next(n), f"s{i}", "staff", "policing", "policing.opinion",
                         text="Staff view."))  # fmt: skip
    return rows, {k: frozenset(v) for k, v in groups.items()}


def _people_counts_in_markdown(md: str, groups: Mapping[str, frozenset[str]]) -> dict[str, Atoms]:
    """Map every count of people the Markdown prints to its atoms (here: the groups)."""
    words = {"children": "child", "parents / carers": "parent", "staff": "staff"}
    labels = {"Children": "child", "Parents / carers": "parent", "Staff": "staff"}
    shown: dict[str, Atoms] = {}
    for n, group in re.findall(r"responses from (\d+) ([a-z /]+?) compiled", md):
        assert len(groups[words[group]]) == int(n)
        shown[f"N {group}"] = frozenset({words[group]})
    table = md[md.index("### Who took part") : md.index("### Numbers not shown")]
    for label, value in re.findall(r"^\| ([A-Za-z /]+?) \| (\d+) \|$", table, re.M):
        atoms = frozenset(groups) if label == "Total" else frozenset({labels[label]})
        assert sum(len(groups[a]) for a in atoms) == int(value)
        shown[f"table {label}"] = atoms
    return shown


def test_no_hidden_or_small_group_can_be_worked_out_from_the_plan():
    rows, groups = _round()
    plan = plan_from_rows(INFO, rows, [], default_catalogue())
    md = render_markdown(plan)
    shown = _people_counts_in_markdown(md, groups)
    assert shown  # the check looked at something
    hidden = [frozenset({g}) for g, members in groups.items() if len(members) < MIN]
    sizes = {g: len(members) for g, members in groups.items()}
    # Beyond the group counts, people appear only as percentages: no other count of people.
    for table in re.findall(r"(?:^\|.*\|\n)+", md[: md.index("## Appendix")], re.M):
        for cell in re.findall(r"\| ([^|]+?) (?=\|)", table):
            assert not cell.isdigit(), f"a count of people outside the method table: {cell}"
    assert leaks(shown, sizes, hidden) == []


def test_a_group_count_is_printed_the_same_way_everywhere():
    rows, _ = _round()
    plan = plan_from_rows(INFO, rows, [], default_catalogue())
    children = {b.n_text for s in plan.sections for b in s.boxes if b.audience == "child"}
    parents = {b.n_text for s in plan.sections for b in s.boxes if b.audience == "parent"}
    t = plan.method.respondents
    assert children == {t.cell_text(t.rows.index("Children"), 0)} == {"12"}
    assert parents == {t.cell_text(t.rows.index("Parents / carers"), 0)} == {"12"}
    # 27 people in all, 12 and 12 printed: the total would give the 3 staff away.
    assert t.column_total_text(0) == "not shown"


# ---- the dashboard ----------------------------------------------------------------------


def _facts(partners: int) -> tuple[dashboard.Facts, dict[str, int]]:
    """20 young people (4 by Telegram), 12 parents, a few partners; some finished."""
    sizes: dict[str, int] = {}
    respondents = []
    for aud, channel, n, done in (
        ("child", "web", 16, 10),
        ("child", "telegram", 4, 1),
        ("parent", "web", 12, 8),
        ("partner", "web", partners, 1),
    ):
        if not n:
            continue
        sizes[f"{aud}/{channel}"] = n
        respondents += [((aud, channel, True), done), ((aud, channel, False), n - done)]
    facts = dashboard.Facts(
        code="ABC234",
        title="Plan",
        priorities=("policing",),
        answers=((("policing", "positive", True, False, "pending", False), 30),),
        people=((("policing", "child"), 18), (("policing", "parent"), 11)),
        respondents=tuple(respondents),
        per_day=(),
    )
    return facts, sizes


def _dashboard_people_counts(dash: dashboard.Dashboard) -> tuple[dict[str, Atoms], list[Atoms]]:
    audiences = {"Children": "child", "Parents / carers": "parent", "Partners": "partner"}
    channels = {"Web form": "web", "Telegram": "telegram"}
    t = dash.who

    def atoms(rows: Iterable[str], cols: Iterable[str]) -> Atoms:
        return frozenset(f"{audiences[r]}/{channels[c]}" for r in rows for c in cols)

    entries = []
    for i, r in enumerate(t.rows):
        for j, c in enumerate(t.columns):
            entries.append((f"{r}/{c}", t.cells[i][j], atoms([r], [c])))
        entries.append((f"{r}/total", t.row_totals[i], atoms([r], t.columns)))
    for j, c in enumerate(t.columns):
        entries.append((f"total/{c}", t.column_totals[j], atoms(t.rows, [c])))
    entries.append(("total", t.grand_total, atoms(t.rows, t.columns)))
    shown = {label: a for label, value, a in entries if value is not None}
    hidden = [a for _, value, a in entries if value is None]
    if dash.started_text.isdigit():  # the headline
        shown["people started"] = atoms(t.rows, t.columns)
    assert dash.started_text == t.grand_total_text()
    assert not dash.finished_text.isdigit()  # a percentage, never a count
    return shown, hidden


def test_no_hidden_or_small_group_can_be_worked_out_from_the_dashboard():
    for partners in (0, 3, 9, 12):
        facts, sizes = _facts(partners)
        dash = dashboard.build(facts, default_catalogue())
        shown, hidden = _dashboard_people_counts(dash)
        assert leaks(shown, sizes, hidden) == [], partners
        # People per priority are shares of each group, never counts.
        for i in range(len(dash.people.rows)):
            for j in range(len(dash.people.columns)):
                assert not dash.people_share(i, j).isdigit()
