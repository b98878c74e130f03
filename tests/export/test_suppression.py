"""Small numbers are never printed, and never worked out from what is printed."""

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.export.suppression import NOT_SHOWN, percent, suppress

AUDS = ["Children", "Parents / carers", "Staff", "Partners"]


def by_audience(*counts, min_group=10):
    return suppress(
        [[c] for c in counts],
        rows=AUDS[: len(counts)],
        columns=["Respondents"],
        column_totals=True,
        title="Respondents",
        min_group=min_group,
    )


def test_a_group_of_fewer_than_10_is_shown_as_fewer_than_10():
    t = by_audience(45, 6, 0)
    assert t.cell_text(1, 0) == "fewer than 10"
    assert t.cell_text(0, 0) == "45"


def test_zero_is_shown_because_nobody_can_be_identified():
    t = suppress([[0], [15]], rows=["a", "b"], columns=["n"])
    assert t.cells == ((0,), (15,)) and t.suppressed == ()


def test_one_hidden_cell_beside_a_total_hides_the_next_smallest_too():
    t = by_audience(45, 6, 12, 30)
    assert t.cells == ((45,), (None,), (None,), (30,))
    assert t.column_total_text(0) == "93"
    assert t.cell_text(2, 0) == NOT_SHOWN
    kinds = {(s.row, s.kind) for s in t.suppressed}
    assert kinds == {("Parents / carers", "primary"), ("Staff", "secondary")}
    assert "worked out" in next(s.reason for s in t.suppressed if s.kind == "secondary")


def test_the_total_is_hidden_when_no_other_cell_can_be():
    t = by_audience(45, 6, 0)
    assert t.cells == ((45,), (None,), (0,))
    assert t.column_totals == (None,)


def test_two_small_cells_protect_each_other_only_if_together_they_are_not_small():
    # 45 + a + b = 47 with a and b each "fewer than 10" means both are 1: hide the total.
    t = by_audience(45, 1, 1)
    assert t.column_totals == (None,)
    # 54 - 45 says the two hidden groups are 9 people together: a small group, given away.
    t = by_audience(45, 4, 5)
    assert t.column_totals == (None,)
    # 56 - 45 = 11: two groups of 11 people together, nothing small to give away.
    t = by_audience(45, 6, 5)
    assert t.column_totals == (56,)


def test_the_threshold_is_configurable():
    assert by_audience(45, 6, 12, min_group=5).cells == ((45,), (6,), (12,))
    t = by_audience(45, 16, 12, 30, min_group=20)
    assert t.cell_text(1, 0) == "fewer than 20"


def test_a_rating_row_for_a_small_group_is_hidden_whole():
    t = suppress(
        [[4, 6, 2, 0], [1, 2, 1, 0]],
        rows=["Children", "Parents / carers"],
        columns=["Very good", "Good", "OK", "Poor"],
        rule="row",
        row_totals=True,
    )
    assert [t.percent_text(0, j) for j in range(4)] == ["33%", "50%", "17%", "0%"]
    assert t.row_hidden(1) and t.row_totals == (12, None)
    assert t.percent_text(1, 3) == "fewer than 10"
    assert all(s.row == "Parents / carers" and s.kind == "primary" for s in t.suppressed)


def test_a_totals_row_that_would_give_a_small_group_away_is_hidden():
    t = suppress(
        [[4, 6, 2, 0], [1, 2, 1, 0]],
        rows=["Children", "Parents / carers"],
        columns=["Very good", "Good", "OK", "Poor"],
        rule="row",
        row_totals=True,
        column_totals=True,
    )
    assert t.cells[0] == (4, 6, 2, 0)
    assert t.column_totals == (None,) * 4 and t.grand_total is None


def test_group_sizes_decide_the_row_rule_when_counts_are_answers():
    t = suppress(
        [[20, 5, 3]],
        rows=["Children"],
        columns=["+", "=", "-"],
        rule="row",
        row_totals=True,
        group_sizes=[7],
    )
    assert t.row_hidden(0)


def test_every_hidden_entry_is_reported_with_a_reason():
    t = by_audience(45, 6, 12, 30)
    hidden = [s for s in t.suppressed]
    assert len(hidden) == 2 and all(s.reason and s.table == "Respondents" for s in hidden)
    assert "Parents / carers" in hidden[0].describe()


@pytest.mark.parametrize(
    "bad",
    [
        dict(counts=[[1, 2]], rows=["a"], columns=["x"]),
        dict(counts=[[-1]], rows=["a"], columns=["x"]),
        dict(counts=[[1]], rows=["a"], columns=["x"], rule="nonsense"),
        dict(counts=[[1]], rows=["a"], columns=["x"], min_group=0),
    ],
)
def test_bad_tables_are_refused(bad):
    with pytest.raises(ValueError):
        suppress(bad.pop("counts"), **bad)


@pytest.mark.parametrize(
    "part, whole, pct",
    [(1, 3, 33), (2, 3, 67), (1, 6, 17), (1, 8, 13), (0, 5, 0), (5, 5, 100), (1, 0, 0)],
)
def test_percentages_are_whole_numbers_rounded_half_up(part, whole, pct):
    assert percent(part, whole) == pct


# ---- properties ------------------------------------------------------------------------
def _entries(t, n_rows, n_cols):
    """Every entry of a table as (key, printed value or None)."""
    out = {("cell", i, j): t.cells[i][j] for i in range(n_rows) for j in range(n_cols)}
    if t.row_totals is not None:
        out.update({("row_total", i, 0): v for i, v in enumerate(t.row_totals)})
    if t.column_totals is not None:
        out.update({("col_total", 0, j): v for j, v in enumerate(t.column_totals)})
    if t.has_grand_total:
        out[("grand", 0, 0)] = t.grand_total
    return out


def _equations(n_rows, n_cols, rt, ct):
    eqs = []
    if rt:
        eqs += [
            (("row_total", i, 0), [("cell", i, j) for j in range(n_cols)]) for i in range(n_rows)
        ]
    if ct:
        eqs += [
            (("col_total", 0, j), [("cell", i, j) for i in range(n_rows)]) for j in range(n_cols)
        ]
    if rt and ct:
        eqs.append((("grand", 0, 0), [("row_total", i, 0) for i in range(n_rows)]))
    return eqs


def _worked_out_by_linear_algebra(hidden, eqs):
    """Independent check with numpy ranks: which hidden entries the sums pin down."""
    unknowns = sorted(hidden)
    if not unknowns or not eqs:
        return []
    idx = {e: k for k, e in enumerate(unknowns)}
    rows = []
    for total, parts in eqs:
        r = np.zeros(len(unknowns))
        if total in idx:
            r[idx[total]] -= 1
        for p in parts:
            if p in idx:
                r[idx[p]] += 1
        rows.append(r)
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = []
    for e, k in idx.items():
        unit = np.zeros(len(unknowns))
        unit[k] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.append(e)
    return out


tables = st.integers(1, 4).flatmap(
    lambda r: st.integers(1, 4).flatmap(
        lambda c: st.tuples(
            st.lists(st.lists(st.integers(0, 40), min_size=c, max_size=c), min_size=r, max_size=r),
            st.booleans(),
            st.booleans(),
            st.sampled_from(["cell", "row"]),
            st.integers(3, 12),
        )
    )
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(tables)
def test_no_hidden_entry_can_be_worked_out_from_what_is_printed(case):
    grid, rt, ct, rule, m = case
    n_rows, n_cols = len(grid), len(grid[0])
    if rule == "row":
        rt = True  # a rating table is printed as row percentages: its rows add up
    t = suppress(
        grid,
        rows=[f"r{i}" for i in range(n_rows)],
        columns=[f"c{j}" for j in range(n_cols)],
        rule=rule,
        row_totals=rt,
        column_totals=ct,
        min_group=m,
    )
    truth = {("cell", i, j): grid[i][j] for i in range(n_rows) for j in range(n_cols)}
    truth.update({("row_total", i, 0): sum(grid[i]) for i in range(n_rows)})
    truth.update({("col_total", 0, j): sum(r[j] for r in grid) for j in range(n_cols)})
    truth[("grand", 0, 0)] = sum(map(sum, grid))
    printed = _entries(t, n_rows, n_cols)
    hidden = {e for e, v in printed.items() if v is None}
    # What is printed is true.
    assert all(v == truth[e] for e, v in printed.items() if v is not None)
    # Every small group is hidden.
    for i in range(n_rows):
        for j in range(n_cols):
            if rule == "cell" and 0 < grid[i][j] < m:
                assert ("cell", i, j) in hidden
            if rule == "row" and 0 < sum(grid[i]) < m:
                assert ("cell", i, j) in hidden and ("row_total", i, 0) in hidden
    # Every hidden entry is reported once.
    assert len(t.suppressed) == len(hidden)
    # Nothing hidden follows from the printed sums.
    assert _worked_out_by_linear_algebra(hidden, _equations(n_rows, n_cols, rt, ct)) == []


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=4), st.integers(3, 12))
def test_a_reader_who_knows_the_labels_still_cannot_work_out_a_count(counts, m):
    """Brute force: every hidden count has at least two values consistent with the page."""
    t = by_audience(*counts, min_group=m)
    total = t.column_totals[0]
    if total is None:
        return  # without a total there is nothing to subtract from
    hidden = [i for i, (v,) in enumerate(t.cells) if v is None]
    if not hidden:
        return
    shown = sum(v for (v,) in t.cells if v is not None)

    def allowed(i):
        if t.cell_text(i, 0) == NOT_SHOWN:  # a secondary: a count of at least m
            return range(m, total + 1)
        return range(1, m)  # "fewer than m": 1 .. m-1 (zero would be printed)

    possible = {i: set() for i in hidden}
    for values in product(*(allowed(i) for i in hidden)):
        if shown + sum(values) == total:
            for i, v in zip(hidden, values):
                possible[i].add(v)
    assert all(len(vals) >= 2 for vals in possible.values()), (counts, m, possible)
