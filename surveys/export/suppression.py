"""Small-number suppression: hide counts that could identify someone, and keep them hidden.

Rules (the method appendix prints them for readers):

* **Primary.** A count of fewer than ``min_group`` respondents (default 10) is shown as
  "fewer than 10". Two kinds of table:

  - ``rule="cell"``: every entry is itself a group of respondents (respondents by audience
    and channel). An entry from 1 to ``min_group - 1`` is hidden; 0 is shown (there is
    nobody to identify).
  - ``rule="row"``: each row breaks one group down (ratings of young people, of parents):
    a row whose group has fewer than ``min_group`` respondents is hidden whole, its total
    too. A totals row is the group "everyone" and follows the same rule.

* **Secondary.** Published totals are sums, so a hidden entry could be worked out by
  subtraction. After primary suppression every hidden entry is checked against every
  published equation (row sums, column sums, the grand total), exactly, with rational
  arithmetic; and each single equation is checked once more with what a reader knows of the
  hidden entries ("fewer than 10" means 1 to 9). In a ``rule="cell"`` table, the hidden
  entries of a line together must not make a small group either: "16 in all, 12 young
  people" would say that the two groups hidden beside them are 4 people: that total is
  hidden. While an entry can be worked out, one more is hidden: the smallest published
  non-zero entry of the same line, else the line's total (with ``keep_cells``, the total
  first; for ``rule="row"``, whose groups are hidden whole, the totals row). Secondary
  entries are shown as "not shown".

Everything here is a pure function on plain values; the result says what was hidden and why,
so the lead can see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

MIN_GROUP = 10
NOT_SHOWN = "not shown"
TOTAL = "Total"

# An entry of a table: ("cell", i, j), ("row_total", i, 0), ("col_total", 0, j), ("grand", 0, 0)
Entry = tuple[str, int, int]
_INF = math.inf


def fewer_than(min_group: int) -> str:
    """Return the words shown instead of a count below the threshold."""
    return f"fewer than {min_group}"


@dataclass(frozen=True)
class Suppression:
    """One hidden entry: where it is, whether primary or secondary, and why."""

    table: str
    row: str
    column: str
    kind: str  # "primary" | "secondary"
    reason: str

    def describe(self) -> str:
        """Return one readable line for the lead."""
        where = self.row if self.column == "" else f"{self.row} / {self.column}"
        return f"{self.table}: {where} ({self.kind}) - {self.reason}"


@dataclass(frozen=True)
class SafeTable:
    """A table of counts after suppression; ``None`` marks a hidden entry."""

    title: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...] | None
    column_totals: tuple[int | None, ...] | None
    grand_total: int | None
    min_group: int
    suppressed: tuple[Suppression, ...] = ()
    kinds: dict[Entry, str] = field(default_factory=dict, compare=False, repr=False)
    #: The words printed instead of a hidden number (a Welsh plan has its own).
    fewer_words: str = field(default="fewer than {n}", compare=False, repr=False)
    not_shown_words: str = field(default=NOT_SHOWN, compare=False, repr=False)

    def with_words(self, fewer: str, not_shown: str) -> SafeTable:
        """Return the same table printing hidden numbers in other words (``{n}``: the limit)."""
        return replace(self, fewer_words=fewer, not_shown_words=not_shown)

    @property
    def has_grand_total(self) -> bool:
        """Return True when the table has both margins (so a grand total)."""
        return self.row_totals is not None and self.column_totals is not None

    def _label(self, entry: Entry, value: int | None) -> str:
        if value is not None:
            return str(value)
        if self.kinds.get(entry) == "primary":
            return self.fewer_words.format(n=self.min_group)
        return self.not_shown_words

    def cell_text(self, i: int, j: int) -> str:
        """Return a cell as printed: the count, or why it is not printed."""
        return self._label(("cell", i, j), self.cells[i][j])

    def row_total_text(self, i: int) -> str:
        """Return a row's total as printed."""
        assert self.row_totals is not None
        return self._label(("row_total", i, 0), self.row_totals[i])

    def column_total_text(self, j: int) -> str:
        """Return a column's total as printed."""
        assert self.column_totals is not None
        return self._label(("col_total", 0, j), self.column_totals[j])

    def grand_total_text(self) -> str:
        """Return the grand total as printed."""
        return self._label(("grand", 0, 0), self.grand_total)

    def row_hidden(self, i: int) -> bool:
        """Return True when every cell of a row is hidden."""
        return all(v is None for v in self.cells[i])

    def percent_text(self, i: int, j: int) -> str:
        """Return a cell as a whole-number percentage of its row's total, or why not."""
        value = self.cells[i][j]
        total = self.row_totals[i] if self.row_totals is not None else None
        if value is None or total is None:
            return self._label(("cell", i, j), None)
        if total == 0:
            return "0%"
        return f"{percent(value, total)}%"


def percent(part: int, whole: int) -> int:
    """Return part/whole as a whole-number percentage, halves rounded up."""
    if whole <= 0:
        return 0
    return int(Fraction(100 * part, whole) + Fraction(1, 2))


def suppress(
    counts: Sequence[Sequence[int]],
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    title: str = "",
    min_group: int = MIN_GROUP,
    rule: str = "cell",
    row_totals: bool = False,
    column_totals: bool = False,
    group_sizes: Sequence[int] | None = None,
    keep_cells: bool = False,
) -> SafeTable:
    """Suppress small numbers in a table of counts and return what may be printed.

    ``row_totals`` / ``column_totals`` say which margins are printed (they are the sums of
    the cells). ``group_sizes`` (``rule="row"`` only) are the respondents behind each row
    when that is not the row's sum (e.g. answers counted, respondents judged).
    A table printed as row percentages must pass ``row_totals=True``: percentages add up
    to 100, which is a total whether it is printed or not. ``keep_cells`` hides a total
    rather than a cell when more must be hidden (the cells are the figures that matter: a
    count of each group, quoted elsewhere in the document).
    """
    if rule not in ("cell", "row"):
        raise ValueError("rule must be 'cell' or 'row'")
    if min_group < 1:
        raise ValueError("min_group must be at least 1")
    grid = [list(map(int, r)) for r in counts]
    n_rows, n_cols = len(rows), len(columns)
    if len(grid) != n_rows or any(len(r) != n_cols for r in grid):
        raise ValueError("counts must have one row per row label and one value per column")
    if any(v < 0 for r in grid for v in r):
        raise ValueError("counts cannot be negative")
    sizes = list(group_sizes) if group_sizes is not None else [sum(r) for r in grid]
    if len(sizes) != n_rows:
        raise ValueError("group_sizes must have one value per row")
    table = _Table(grid, rows, columns, title, min_group, rule, row_totals, column_totals, sizes)
    table.keep_cells = keep_cells
    table.primary()
    table.secondary()
    return table.result()


class _Table:
    """The working state of one suppression: values, hidden entries and their reasons."""

    def __init__(
        self,
        grid: list[list[int]],
        rows: Sequence[str],
        columns: Sequence[str],
        title: str,
        min_group: int,
        rule: str,
        row_totals: bool,
        column_totals: bool,
        sizes: list[int],
    ) -> None:
        self.grid, self.rows, self.columns = grid, tuple(rows), tuple(columns)
        self.title, self.m, self.rule = title, min_group, rule
        self.has_rt, self.has_ct = row_totals, column_totals
        self.sizes = sizes
        self.keep_cells = False
        self.values: dict[Entry, int] = {}
        for i, r in enumerate(grid):
            for j, v in enumerate(r):
                self.values[("cell", i, j)] = v
        if row_totals:
            for i, r in enumerate(grid):
                self.values[("row_total", i, 0)] = sum(r)
        if column_totals:
            for j in range(len(columns)):
                self.values[("col_total", 0, j)] = sum(r[j] for r in grid)
        if row_totals and column_totals:
            self.values[("grand", 0, 0)] = sum(map(sum, grid))
        self.hidden: dict[Entry, str] = {}
        self.notes: list[Suppression] = []

    # -- naming -----------------------------------------------------------------------
    def _where(self, e: Entry) -> tuple[str, str]:
        kind, i, j = e
        if kind == "cell":
            return self.rows[i], self.columns[j]
        if kind == "row_total":
            return self.rows[i], TOTAL
        if kind == "col_total":
            return TOTAL, self.columns[j]
        return TOTAL, TOTAL

    def _hide(self, e: Entry, kind: str, reason: str) -> None:
        if e in self.hidden:
            return
        self.hidden[e] = kind
        row, col = self._where(e)
        if len(self.columns) == 1 and e[0] == "cell" and not self.has_rt:
            col = ""
        self.notes.append(Suppression(self.title, row, col, kind, reason))

    def _row_entries(self, i: int) -> list[Entry]:
        out: list[Entry] = [("cell", i, j) for j in range(len(self.columns))]
        if self.has_rt:
            out.append(("row_total", i, 0))
        return out

    def _totals_row_entries(self) -> list[Entry]:
        out: list[Entry] = [("col_total", 0, j) for j in range(len(self.columns))]
        if self.has_rt and self.has_ct:
            out.append(("grand", 0, 0))
        return out

    # -- primary ----------------------------------------------------------------------
    def primary(self) -> None:
        m = self.m
        why = f"a group of fewer than {m} respondents"
        if self.rule == "cell":
            for e, v in self.values.items():
                if 0 < v < m:
                    self._hide(e, "primary", why)
            return
        for i, size in enumerate(self.sizes):
            if 0 < size < m:
                for e in self._row_entries(i):
                    self._hide(e, "primary", f"a breakdown of {why}")
        if self.has_ct:
            everyone = sum(self.sizes)
            if 0 < everyone < m:
                for e in self._totals_row_entries():
                    self._hide(e, "primary", f"a breakdown of {why}")

    # -- secondary --------------------------------------------------------------------
    def equations(self) -> list[tuple[Entry, list[Entry]]]:
        """Return each published sum as (total entry, the entries it adds up)."""
        n_rows, n_cols = len(self.rows), len(self.columns)
        eqs: list[tuple[Entry, list[Entry]]] = []
        if self.has_rt:
            for i in range(n_rows):
                eqs.append((("row_total", i, 0), [("cell", i, j) for j in range(n_cols)]))
        if self.has_ct:
            for j in range(n_cols):
                eqs.append((("col_total", 0, j), [("cell", i, j) for i in range(n_rows)]))
        if self.has_rt and self.has_ct:
            eqs.append((("grand", 0, 0), [("row_total", i, 0) for i in range(n_rows)]))
            eqs.append((("grand", 0, 0), [("col_total", 0, j) for j in range(n_cols)]))
        return eqs

    def bounds(self, e: Entry) -> tuple[float, float]:
        """Return what a reader knows of a hidden entry's value from how it is labelled."""
        kind = self.hidden[e]
        m = self.m
        if self.rule == "cell":
            if kind == "primary":
                return 1, m - 1
            # Secondary cells are never zero and never small (those would be primary).
            return (m, _INF) if e[0] == "cell" else (0, _INF)
        if kind == "primary":
            return (1, m - 1) if e[0] in ("row_total", "grand") else (0, m - 1)
        return 0, _INF

    def exposed(self) -> tuple[Entry, str] | None:
        """Return a hidden entry a reader could work out, and how, or None.

        A published total is returned instead when, with what its line shows, it tells a
        reader how many are hidden in that line and that number is small.
        """
        eqs = self.equations()
        if not eqs:
            return None
        for e in determined(self.hidden, eqs):
            return e, "it could be worked out from the totals"
        for total, parts in eqs:
            terms = [(total, -1)] + [(p, 1) for p in parts]
            unknown = [(e, s) for e, s in terms if e in self.hidden]
            if not unknown or len(unknown) == len(terms):
                # Nothing of this line is printed: what a reader could infer comes from the
                # labels alone ("fewer than 3" twice adding to "fewer than 3"), which no
                # further hiding could change.
                continue
            # sum(s * x) over the unknown entries equals this constant:
            const = -sum(s * self.values[e] for e, s in terms if e not in self.hidden)
            for e, s in unknown:
                lo, hi = self.bounds(e)
                if lo == hi:
                    continue  # the label alone says it; nothing more can hide it
                rest_lo = rest_hi = 0.0
                for f, t in unknown:
                    if f == e:
                        continue
                    flo, fhi = self.bounds(f)
                    rest_lo += t * (flo if t > 0 else fhi)
                    rest_hi += t * (fhi if t > 0 else flo)
                # s * x = const - rest
                a, b = const - rest_hi, const - rest_lo
                if s < 0:
                    a, b = -b, -a
                a, b = max(a, lo), min(b, hi)
                if a == b:
                    return e, "it could be worked out from the totals and what the others say"
        if self.rule == "cell":
            # Several hidden entries of one line add up to the line's total minus what it
            # shows: that difference is itself a group, and must not be a small one.
            for total, parts in eqs:
                hidden = [p for p in parts if p in self.hidden]
                if total in self.hidden or not hidden:
                    continue
                rest = self.values[total] - sum(self.values[p] for p in parts if p not in hidden)
                if 0 < rest < self.m:
                    return total, "it would give away a small group: those hidden beside it"
        return None

    def secondary(self) -> None:
        while True:
            found = self.exposed()
            if found is None or len(self.hidden) == len(self.values):
                return
            entry, how = found
            if entry not in self.hidden:  # a total that gives a small group away: hide it
                self._hide(entry, "secondary", f"hidden as well, otherwise {how}")
            elif self.rule == "row":
                self._protect_row(entry, how)
            else:
                self._protect_cell(entry, how)

    def _protect_cell(self, entry: Entry, how: str) -> None:
        row, col = self._where(entry)
        target = f"{row} / {col}" if col else row
        reason = f"hidden as well, otherwise {target} ({how})"
        lines = [[t, *parts] for t, parts in self.equations() if entry in (t, *parts)]
        if self.keep_cells:
            for line in lines:
                if line[0] not in self.hidden:
                    self._hide(line[0], "secondary", reason)
                    return
        for line in lines:
            cells = [e for e in line[1:] if e not in self.hidden and self.values[e] > 0]
            if len(cells) == 1 and line[0] not in self.hidden:
                # The one cell left is usually the line's main figure; hiding the total
                # protects as well and says less about everyone else.
                self._hide(line[0], "secondary", reason)
                return
            if cells:
                victim = min(cells, key=lambda e: (self.values[e], e[1], e[2]))
                self._hide(victim, "secondary", reason)
                return
        for line in lines:
            if line[0] not in self.hidden:
                self._hide(line[0], "secondary", reason)
                return
        # Determined through other lines only: hide the smallest published entry left.
        left = sorted(
            (e for e in self.values if e not in self.hidden),
            key=lambda e: (e[0] != "cell", self.values[e] == 0, self.values[e], e),
        )
        self._hide(left[0], "secondary", reason)

    def _protect_row(self, entry: Entry, how: str) -> None:
        # Rows are hidden whole, so only the totals row (sums down the columns) can give a
        # hidden row away: hiding it closes every such sum at once, and keeps the groups.
        row, _ = self._where(entry)
        reason = f"hidden as well, otherwise the breakdown of {row} ({how})"
        totals = [e for e in self._totals_row_entries() if e not in self.hidden]
        if totals:
            for e in totals:
                self._hide(e, "secondary", reason)
            return
        open_rows = [
            i
            for i in range(len(self.rows))
            if any(e not in self.hidden for e in self._row_entries(i))
        ]
        i = min(open_rows, key=lambda i: (self.sizes[i] == 0, self.sizes[i], i))
        for e in self._row_entries(i):
            self._hide(e, "secondary", reason)

    def result(self) -> SafeTable:
        def shown(e: Entry) -> int | None:
            return None if e in self.hidden else self.values[e]

        n_rows, n_cols = len(self.rows), len(self.columns)
        cells = tuple(tuple(shown(("cell", i, j)) for j in range(n_cols)) for i in range(n_rows))
        rts = tuple(shown(("row_total", i, 0)) for i in range(n_rows)) if self.has_rt else None
        cts = tuple(shown(("col_total", 0, j)) for j in range(n_cols)) if self.has_ct else None
        grand = shown(("grand", 0, 0)) if self.has_rt and self.has_ct else None
        return SafeTable(
            self.title,
            self.rows,
            self.columns,
            cells,
            rts,
            cts,
            grand,
            self.m,
            tuple(self.notes),
            dict(self.hidden),
        )


def determined(
    hidden: Sequence[Entry] | dict[Entry, str], equations: Sequence[tuple[Entry, list[Entry]]]
) -> list[Entry]:
    """Return the hidden entries whose value follows exactly from the published sums.

    Exact: Gaussian elimination over the rationals. An unknown is determined when the
    reduced system has a row that names it alone.
    """
    unknowns = sorted(hidden)
    index = {e: k for k, e in enumerate(unknowns)}
    matrix: list[list[Fraction]] = []
    for total, parts in equations:
        row = [Fraction(0)] * len(unknowns)
        if total in index:
            row[index[total]] -= 1
        for p in parts:
            if p in index:
                row[index[p]] += 1
        if any(row):
            matrix.append(row)
    pivots: list[int] = []
    r = 0
    for c in range(len(unknowns)):
        pivot = next((k for k in range(r, len(matrix)) if matrix[k][c] != 0), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        lead = matrix[r][c]
        matrix[r] = [v / lead for v in matrix[r]]
        for k in range(len(matrix)):
            if k != r and matrix[k][c] != 0:
                f = matrix[k][c]
                matrix[k] = [a - f * b for a, b in zip(matrix[k], matrix[r], strict=True)]
        pivots.append(c)
        r += 1
    out = []
    for k, c in enumerate(pivots):
        if sum(1 for v in matrix[k] if v != 0) == 1:
            out.append(unknowns[c])
    return out


def summarise(suppressed: Sequence[Suppression]) -> list[str]:
    """Return one readable line per table row with hidden entries (for the lead, and print)."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for s in suppressed:
        groups.setdefault((s.table, s.row, s.kind, s.reason), []).append(s.column)
    lines = []
    for (table, row, _kind, reason), cols in groups.items():
        named = [c for c in cols if c]
        where = f"{row} ({', '.join(named)})" if named else row
        lines.append(f"{table} - {where}: {reason}.")
    return lines
