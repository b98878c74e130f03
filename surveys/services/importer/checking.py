"""Checking an import: every row of a table against a round's audiences, priorities,
questions and answer options, with its spreadsheet row number. Pure: bytes in, a ``Preview``
out, nothing stored.

A row is matched loosely (a priority's key or title, a question's id or wording, a choice's
key or label, in any case and with curly quotes) and refused precisely: each problem names
the row, the column and what would fit. A respondent label is one person: the same label as
two audiences, or answering one question twice, is a problem.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from surveys.core.catalogue import Catalogue, Question
from surveys.core.vocabulary import AUDIENCES
from surveys.services.importer.files import (
    OPTIONAL,
    REQUIRED,
    ImportFileError,
    Table,
    fold,
    fold_header,
    fold_label,
    formula_text,
    open_table,
    show,
)
from surveys.storage.models import Round

MAX_LABEL = 200
AUDIENCE_ALIASES: dict[str, str] = {
    "child": "child",
    "children": "child",
    "young person": "child",
    "young people": "child",
    "yp": "child",
    "parent": "parent",
    "parents": "parent",
    "carer": "parent",
    "carers": "parent",
    "parent carer": "parent",
    "parents carers": "parent",
    "parent or carer": "parent",
    "staff": "staff",
    "practitioner": "staff",
    "practitioners": "staff",
    "volunteer": "staff",
    "volunteers": "staff",
    "partner": "partner",
    "partners": "partner",
    "partner agency": "partner",
    "board member": "partner",
}

AUDIENCE_PLURALS = {
    "child": "young people",
    "parent": "parents or carers",
    "staff": "staff",
    "partner": "partners",
}
AUDIENCE_PLURALS = {
    "child": "young people",
    "parent": "parents or carers",
    "staff": "staff",
    "partner": "partners",
}


@dataclass(frozen=True)
class Problem:
    """A row that does not fit the round, with its spreadsheet row number."""

    row: int | None
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"Row {self.row}" if self.row is not None else "File"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ImportRow:
    """One answer ready to store: everything checked against the round's questions."""

    row: int
    audience: str
    priority: str
    question_id: str
    text: str  # what Answer.text holds: the words, or the chosen option's label
    choice: str | None
    label: str | None  # the respondent label as written (never stored)


@dataclass(frozen=True)
class Preview:
    """What an import would store, and every reason it cannot yet."""

    filename: str
    kind: str  # csv | xlsx
    encoding: str | None
    sha256: str
    rows: tuple[ImportRow, ...]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()
    skipped: tuple[int, ...] = ()  # rows with a question but no answer: nothing to store
    columns: tuple[str, ...] = ()  # the columns recognised, in file order

    @property
    def ok(self) -> bool:
        """Return True when every row fits and there is something to import."""
        return not self.problems and bool(self.rows)

    @property
    def respondent_count(self) -> int:
        """Return how many people the rows stand for (a label is one person; no label, one row)."""
        labels = {(r.audience, fold_label(r.label)) for r in self.rows if r.label}
        return len(labels) + sum(1 for r in self.rows if not r.label)

    def by_audience(self) -> Counter[str]:
        """Return the number of answers per audience."""
        return Counter(r.audience for r in self.rows)

    def by_priority(self) -> Counter[str]:
        """Return the number of answers per priority key."""
        return Counter(r.priority for r in self.rows)


def preview(
    data: bytes,
    catalogue: Catalogue,
    *,
    priorities: Sequence[str],
    audiences: Sequence[str],
    filename: str = "",
    encoding: str | None = None,
) -> Preview:
    """Read a CSV or XLSX file and check every row against a round; store nothing.

    Raises ImportFileError when the file cannot be read as a table of answers at all
    (empty, too big, wrong encoding, missing columns, not a CSV or workbook).
    """
    with open_table(data, filename, encoding) as table:
        checker = _Checker(table, _Matcher(catalogue, priorities, audiences))
        for number, cells in table.rows:
            checker.check(number, cells)
    notes, problems, cols = list(table.notes), checker.problems, table.columns
    wanted = set(cols.values())
    stray = sum(1 for (r, c) in table.formulas if c not in wanted or r <= table.header_row)
    if stray:
        notes.append(f"{stray} formula cell(s) in columns that are not imported were ignored.")
    if not checker.good and not problems:
        problems.append(
            Problem(None, "There are no answers to import: the file has a header row only.")
            if not checker.skipped
            else Problem(None, "Every row's answer is empty: there is nothing to import.")
        )
    ordered = [c for c in (*REQUIRED, *OPTIONAL) if c in cols]
    return Preview(
        filename=filename,
        kind=table.kind,
        encoding=table.encoding,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=tuple(checker.good),
        problems=tuple(problems),
        notes=tuple(notes),
        skipped=tuple(checker.skipped),
        columns=tuple(sorted(ordered, key=lambda c: cols[c])),
    )


def preview_for_round(
    data: bytes,
    rnd: Round,
    catalogue: Catalogue,
    *,
    filename: str = "",
    encoding: str | None = None,
) -> Preview:
    """Preview a file against a round's priorities and audiences."""
    return preview(
        data,
        catalogue,
        priorities=list(rnd.priorities),
        audiences=[a for a in AUDIENCES if a in rnd.audiences],
        filename=filename,
        encoding=encoding,
    )


class _Matcher:
    """Match cells to the round's audiences, priorities, questions and answer options."""

    def __init__(self, catalogue: Catalogue, priorities: Sequence[str], audiences: Sequence[str]):
        self.catalogue = catalogue
        self.audiences = tuple(audiences)
        self.allowed = (*priorities, "general")
        self.titles = {b.key: b.title for b in catalogue.banks}
        self.priority_names: dict[str, str] = {}
        for b in catalogue.banks:
            self.priority_names[fold(b.key)] = b.key
            self.priority_names[fold(b.key.replace("_", " "))] = b.key
            self.priority_names[fold(b.title)] = b.key
        self.by_id: dict[str, Question] = {}
        self.by_text: dict[str, dict[str, list[Question]]] = {}  # priority -> wording -> qs
        for b in catalogue.banks:
            words: dict[str, list[Question]] = {}
            for q in b.questions:
                self.by_id[fold(q.id)] = q
                for wording in set(q.texts.values()):
                    words.setdefault(fold(wording), []).append(q)
            self.by_text[b.key] = words

    def knows_question(self, wanted: str) -> bool:
        """Return True when a folded cell is a question's id or wording in any bank."""
        return wanted in self.by_id or any(wanted in words for words in self.by_text.values())

    def audience(self, raw: str) -> tuple[str | None, str | None]:
        if not raw:
            return None, "the audience is empty (child, parent, staff or partner)"
        key = AUDIENCE_ALIASES.get(fold_header(raw))
        if key is None:
            return None, f"unknown audience {show(raw)}: use child, parent, staff or partner"
        if key not in self.audiences:
            return None, (
                f"audience {show(raw)} is not part of this round "
                f"(it asks {', '.join(self.audiences)})"
            )
        return key, None

    def priority(self, raw: str) -> tuple[str | None, str | None]:
        key = self.priority_names.get(fold(raw)) or self.priority_names.get(fold_header(raw))
        if key is None:
            return None, f"unknown priority {show(raw)}: give its key or its title"
        if key not in self.allowed:
            return None, (
                f"priority {show(self.titles[key])} is not part of this round "
                f"(it covers {', '.join(self.titles.get(k, k) for k in self.allowed)})"
            )
        return key, None

    def question(self, raw: str, priority: str | None) -> tuple[Question | None, str | None]:
        wanted = fold(raw)
        q = self.by_id.get(wanted)
        if q is None and priority is not None:
            found = self.by_text.get(priority, {}).get(wanted, [])
            if len(found) > 1:
                return (
                    None,
                    f"the question {show(raw)} is asked twice in this priority: use its id",
                )
            q = found[0] if found else None
        if q is None:
            found = [x for words in self.by_text.values() for x in words.get(wanted, [])]
            if len(found) > 1 and priority is None:
                return None, (
                    f"the question {show(raw)} is in several priorities: give the priority or "
                    "the question id"
                )
            q = found[0] if found else None
        if q is None:
            return None, f"unknown question {show(raw)}: give its id or its exact wording"
        if priority is not None and q.priority != priority:
            return None, (
                f"the question {show(raw)} belongs to {show(self.titles.get(q.priority, ''))}, "
                f"not {show(self.titles.get(priority, priority))}"
            )
        return q, None

    def answer(self, q: Question, audience: str, raw: str) -> tuple[str, str | None, str | None]:
        """Return (text to store, choice key, problem)."""
        options = q.choices()
        if not options:
            if len(raw) > q.max_length:
                return (
                    "",
                    None,
                    (
                        f"the answer is {len(raw):,} characters long; this question takes at most "
                        f"{q.max_length:,}"
                    ),
                )
            return raw, None, None
        wanted = fold(raw)
        for opt in options:
            names = {fold(opt.key), fold(opt.key.replace("_", " ")), fold(opt.label(audience))}
            names |= {fold(v) for v in opt.labels.values()}
            if wanted in names:
                return opt.label(audience), opt.key, None
        allowed = ", ".join(opt.label(audience) for opt in options)
        return "", None, f"the answer {show(raw)} is not one of: {allowed}"


class _Checker:
    """Check a table's rows one by one, remembering each respondent label's rows."""

    def __init__(self, table: Table, match: _Matcher):
        self.table, self.match = table, match
        self.good: list[ImportRow] = []
        self.problems: list[Problem] = []
        self.skipped: list[int] = []
        self.label_audience: dict[str, tuple[str, int]] = {}  # label -> (audience, first row)
        self.label_question: dict[tuple[str, str], int] = {}  # (label, question id) -> row

    def cell(self, cells: list[str], name: str) -> str:
        i = self.table.columns.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    def check(self, number: int, cells: list[str]) -> None:
        """Check one row: keep it as an ImportRow, skip it (no answer) or note its problems."""
        if not any(cells):
            return
        if self.table.delimiter is not None:
            _refuse_merged_rows(number, cells, self.table, self.match)
        problems = self.formulas(number)
        if problems:
            self.problems += problems
            return
        problems, audience, question = self.fit(number, cells)
        if problems:
            self.problems += problems
            return
        assert question is not None and audience is not None
        answer, label = self.cell(cells, "answer"), self.cell(cells, "respondent") or None
        if not answer:
            self.skipped.append(number)
            return
        text, choice, msg = self.match.answer(question, audience, answer)
        if msg:
            self.problems.append(Problem(number, msg, "answer"))
            return
        if label is not None:
            msg = self.one_person(number, label, audience, question.id)
            if msg:
                self.problems.append(Problem(number, msg, "respondent"))
                return
        self.good.append(
            ImportRow(number, audience, question.priority, question.id, text, choice, label)
        )

    def formulas(self, number: int) -> list[Problem]:
        """Return a problem for each imported cell of the row that is a formula."""
        formulas = self.table.formulas
        return [
            Problem(
                number,
                f"the {name} cell is a formula "
                f"({show(formula_text(formulas, number, index), 40)}); "
                "formulas are never run or imported. Replace it with the value itself "
                "(Copy, then Paste Special > Values).",
                name,
            )
            for name, index in self.table.columns.items()
            if (number, index) in formulas
        ]

    def fit(
        self, number: int, cells: list[str]
    ) -> tuple[list[Problem], str | None, Question | None]:
        """Match the row's audience, priority and question to the round: (problems, audience,
        question)."""
        match = self.match
        aud_raw, prio_raw, q_raw = (
            self.cell(cells, "audience"),
            self.cell(cells, "priority"),
            self.cell(cells, "question"),
        )
        label = self.cell(cells, "respondent") or None
        problems: list[Problem] = []
        audience, msg = match.audience(aud_raw)
        if msg:
            problems.append(Problem(number, msg, "audience"))
        priority = None
        if prio_raw:
            priority, msg = match.priority(prio_raw)
            if msg:
                problems.append(Problem(number, msg, "priority"))
        question = None
        if not q_raw:
            problems.append(Problem(number, "the question is empty", "question"))
        elif not (prio_raw and priority is None):
            question, msg = match.question(q_raw, priority)
            if msg:
                problems.append(Problem(number, msg, "question"))
        if question is not None and not prio_raw and question.priority not in match.allowed:
            title = match.titles.get(question.priority, question.priority)
            problems.append(
                Problem(
                    number,
                    f"the question is about {show(title)}, not part of this round",
                    "question",
                )
            )
            question = None
        if question is not None and audience is not None and question.text_for(audience) is None:
            problems.append(
                Problem(
                    number,
                    f"the question {show(q_raw)} is not asked of {AUDIENCE_PLURALS[audience]}",
                    "question",
                )
            )
            question = None
        if label is not None and len(label) > MAX_LABEL:
            problems.append(
                Problem(
                    number, f"the respondent label is over {MAX_LABEL} characters", "respondent"
                )
            )
        return problems, audience, question

    def one_person(self, number: int, label: str, audience: str, question_id: str) -> str | None:
        """Return why a labelled row contradicts the label's earlier rows, if it does."""
        key = fold_label(label)
        first = self.label_audience.setdefault(key, (audience, number))
        if first[0] != audience:
            return (
                f"respondent {show(label)} is a {first[0]} in row {first[1]} but a "
                f"{audience} here; one label is one person"
            )
        earlier = self.label_question.setdefault((key, question_id), number)
        if earlier != number:
            return f"respondent {show(label)} already answered this question in row {earlier}"
        return None


def _refuse_merged_rows(number: int, cells: list[str], table: Table, match: _Matcher) -> None:
    """Raise ImportFileError when a quote mark left open swallowed the rows after this one.

    CSV lets a quoted cell run over several lines, so an unclosed quote reads the next rows
    into one cell without any error. An answer may hold line breaks; it does not hold a line
    that reads as a row of this file (a known audience, then a known priority or question
    in their columns), nor push cells past the header's last column.
    """
    spans = [i for i, c in enumerate(cells) if "\n" in c]
    if not spans:
        return
    cols = table.columns
    overflow = any(c for c in cells[len(table.header) :])
    swallowed = overflow or any(
        _reads_as_row(next(csv.reader([line], delimiter=table.delimiter or ","), []), cols, match)
        for i in spans
        for line in cells[i].splitlines()[1:]
    )
    if swallowed:
        names = {index: name for name, index in cols.items()}
        cell = names.get(spans[0], "a")
        raise ImportFileError(
            f"Row {number} opens a quote mark that is not closed where its {cell} cell ends, "
            "so the rows after it were read into that cell. Close the quote (or delete it), "
            "then import the file again."
        )


def _reads_as_row(fields: list[str], cols: dict[str, int], match: _Matcher) -> bool:
    def cell(name: str) -> str:
        i = cols.get(name)
        return fields[i].strip() if i is not None and i < len(fields) else ""

    if AUDIENCE_ALIASES.get(fold_header(cell("audience"))) is None:
        return False
    priority, question = fold(cell("priority")), fold(cell("question"))
    return bool(
        (priority and priority in match.priority_names)
        or (question and match.knows_question(question))
    )
