"""Checking an import: every row of a table against a round's audiences, priorities,
questions and answer options, with its spreadsheet row number. Pure: bytes in, a ``Preview``
out, nothing stored.

A row is matched loosely (a priority's key or title, a question's id or wording, a choice's
key or label, in any case and with curly quotes) and refused precisely: each problem names
the row, the column and what would fit. A respondent label is one person: the same label as
two audiences, or answering one question twice, is a problem.

Each distinct question wording (a wide file's column) is a ``mapping.Wording``: it goes to
the question the lead chose, else its exact match, else (as ``Choices`` allow) the closest
question or a new local question under its priority. The preview lists the new questions
the import would create (``Preview.new_questions``); storing creates them.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from surveys.analysis import priorities as priorities_analysis
from surveys.core import wording as wording_rules
from surveys.core.catalogue import Catalogue, Question
from surveys.core.vocabulary import AUDIENCES
from surveys.services.importer.files import (
    LONG,
    OPTIONAL,
    REQUIRED,
    WIDE,
    ImportFileError,
    Table,
    fold,
    fold_header,
    fold_label,
    formula_text,
    open_table,
    show,
)
from surveys.services.importer.mapping import (
    MAX_NEW_LENGTH,
    NEW,
    QUESTION,
    SKIP,
    Choices,
    NewQuestion,
    Suggestion,
    Target,
    Wording,
    audiences_fit,
    closest,
    wording_key,
)
from surveys.storage.models import Round

MAX_LABEL = 200
#: Different question wordings in one file (each is matched and shown on the mapping page).
MAX_WORDINGS = 200
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
    question_id: str  # "" for a question the import creates (``new``)
    text: str  # what Answer.text holds: the words, or the chosen option's label
    choice: str | None
    label: str | None  # the respondent label as written (never stored)
    new: str | None = None  # the key of the wording whose new question it answers


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
    layout: str = LONG
    wordings: tuple[Wording, ...] = ()
    new_questions: tuple[NewQuestion, ...] = ()
    dropped: tuple[str, ...] = ()  # columns of personal details, never imported
    audience_column: bool = True  # False: every row's audience is the one chosen

    @property
    def ok(self) -> bool:
        """Return True when every row fits and there is something to import."""
        return not self.problems and bool(self.rows)

    @property
    def needs_mapping(self) -> bool:
        """Return True unless every wording is a question's id or exact wording."""
        return not self.audience_column or any(
            w.suggestion is None
            or not w.suggestion.exact
            or w.target != Target(QUESTION, w.suggestion.question_id)
            for w in self.wordings
        )

    @property
    def respondent_count(self) -> int:
        """Return how many people the rows stand for (a label is one person; no label, one row)."""
        labels = {(r.audience, fold_label(r.label)) for r in self.rows if r.label}
        return len(labels) + sum(1 for r in self.rows if not r.label)

    @property
    def skipped_wordings(self) -> tuple[Wording, ...]:
        """Return the wordings (columns) left out on purpose."""
        return tuple(w for w in self.wordings if w.target is not None and w.target.kind == SKIP)

    def by_audience(self) -> Counter[str]:
        """Return the number of answers per audience."""
        return Counter(r.audience for r in self.rows)

    def by_priority(self) -> Counter[str]:
        """Return the number of answers per priority key."""
        return Counter(r.priority for r in self.rows)

    def fingerprint(self) -> str:
        """Return what the confirmation must find unchanged: the file, and where rows go."""
        plan = "\x1e".join(
            f"{w.key}\x1f{w.target}\x1f{w.new_priority or ''}" for w in self.wordings
        )
        rows = f"{len(self.rows)}\x1e{self.respondent_count}"
        return hashlib.sha256(f"{self.sha256}\x1e{plan}\x1e{rows}".encode()).hexdigest()


def preview(
    data: bytes,
    catalogue: Catalogue,
    *,
    priorities: Sequence[str],
    audiences: Sequence[str],
    filename: str = "",
    encoding: str | None = None,
    choices: Choices | None = None,
) -> Preview:
    """Read a CSV or XLSX file and check every row against a round; store nothing.

    ``choices`` says where the file's question wordings go (``mapping.Choices``); without
    it, only a question's id or exact wording fits. Raises ImportFileError when the file
    cannot be read as a table of answers at all (empty, too big, wrong encoding, missing
    columns, mixed layouts, not a CSV or workbook).
    """
    choices = choices or Choices()
    match = _Matcher(catalogue, priorities, audiences)
    with open_table(data, filename, encoding) as table:
        reader = _Reader(table, match, choices)
        for number, cells in table.rows:
            reader.read(number, cells)
    checker = _Checker(match, choices, reader)
    checker.check()
    notes, problems, cols = list(table.notes), reader.problems + checker.problems, table.columns
    wanted = set(cols.values()) | set(table.questions)
    stray = sum(1 for (r, c) in table.formulas if c not in wanted or r <= table.header_row)
    if stray:
        notes.append(f"{stray} formula cell(s) in columns that are not imported were ignored.")
    if not checker.good and not problems:
        problems.append(
            Problem(None, "There are no answers to import: the file has a header row only.")
            if not reader.skipped and not reader.records
            else Problem(None, "Every row's answer is empty: there is nothing to import.")
            if not checker.wordings
            or any(w.target is None or w.target.kind != SKIP for w in checker.wordings)
            else Problem(None, "Every question is left out: there is nothing to import.")
        )
    ordered = [c for c in (*REQUIRED, *OPTIONAL) if c in cols]
    return Preview(
        filename=filename,
        kind=table.kind,
        encoding=table.encoding,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=tuple(checker.good),
        problems=tuple(sorted(problems, key=lambda p: (p.row is not None, p.row or 0))),
        notes=tuple(notes),
        skipped=tuple(sorted(reader.skipped)),
        columns=tuple(sorted(ordered, key=lambda c: cols[c])),
        layout=table.layout,
        wordings=tuple(checker.wordings),
        new_questions=tuple(checker.new_questions),
        dropped=table.dropped,
        audience_column="audience" in cols,
    )


def preview_for_round(
    data: bytes,
    rnd: Round,
    catalogue: Catalogue,
    *,
    filename: str = "",
    encoding: str | None = None,
    choices: Choices | None = None,
) -> Preview:
    """Preview a file against a round's priorities and audiences."""
    return preview(
        data,
        catalogue,
        priorities=list(rnd.priorities),
        audiences=[a for a in AUDIENCES if a in rnd.audiences],
        filename=filename,
        encoding=encoding,
        choices=choices,
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
        # Questions kept for answers only (an earlier import's, an edited question's earlier
        # version): the same wording imported again finds them, so nothing is stored twice.
        self.kept: dict[str, list[Question]] = {}  # wording -> questions kept for answers
        for q in catalogue.retired:
            self.by_id.setdefault(fold(q.id), q)
            for text in set(q.texts.values()):
                self.kept.setdefault(fold(text), []).append(q)

    def knows_question(self, wanted: str) -> bool:
        """Return True when a folded cell is a question's id or wording in any bank."""
        return (
            wanted in self.by_id
            or wanted in self.kept
            or any(wanted in words for words in self.by_text.values())
        )

    def same_wording(self, raw: str, priority: str | None) -> list[Question]:
        """Return every question worded so (asked now first, then kept for answers)."""
        wanted = fold(raw)
        live = [
            q
            for key, words in self.by_text.items()
            if priority is None or key == priority
            for q in words.get(wanted, [])
        ]
        kept = [q for q in self.kept.get(wanted, []) if priority is None or q.priority == priority]
        return live + kept

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
                f"(it covers {self.covers()})"
            )
        return key, None

    def covers(self) -> str:
        return ", ".join(self.titles.get(k, k) for k in self.allowed)

    def question(self, raw: str, priority: str | None) -> tuple[Question | None, str | None]:
        """Return the question a cell names by id or exact wording (None, None: no such)."""
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
            kept = [x for x in self.kept.get(wanted, []) if priority in (None, x.priority)]
            q = kept[0] if kept else None
        if q is None:
            return None, None
        if priority is not None and q.priority != priority:
            return None, (
                f"the question {show(raw)} belongs to {show(self.titles.get(q.priority, ''))}, "
                f"not {show(self.titles.get(priority, priority))}"
            )
        return q, None

    def candidates(self, priority: str | None, audiences: Sequence[str]) -> list[Question]:
        """Return the questions a wording could be mapped to: asked now, in the round."""
        keys = [priority] if priority else [k for k in self.allowed if k in self.by_text]
        return [
            q
            for b in self.catalogue.banks
            if b.key in keys
            for q in b.questions
            if audiences_fit(q, audiences)
        ]

    def guess_priority(self, text: str) -> str | None:
        """Return the round's priority a question's words are most about, if any is."""
        scores = priorities_analysis.classify(text, self.catalogue).scores
        inside = {k: v for k, v in scores.items() if k in self.allowed and v > 0}
        return max(inside, key=inside.__getitem__) if inside else None

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


@dataclass
class _Record:
    """One answer cell as read: its row, who and what it answers, checked later."""

    row: int
    audience: str
    priority: str | None  # the file's (long layout), if given
    wording: str
    column: int | None  # wide layout: the question's column
    answer: str
    label: str | None
    key: str = ""


class _Reader:
    """Read a table's rows into answer records: audience and priority checked row by row."""

    def __init__(self, table: Table, match: _Matcher, choices: Choices):
        self.table, self.match, self.choices = table, match, choices
        self.records: list[_Record] = []
        self.problems: list[Problem] = []
        self.skipped: list[int] = []
        self.seen_wordings: set[str] = set()
        self.audience = choices.audience
        if self.audience is None and len(match.audiences) == 1:
            self.audience = match.audiences[0]
        if "audience" not in table.columns and self.audience is None:
            self.problems.append(
                Problem(
                    None,
                    "The file has no audience column: choose who answered "
                    f"({', '.join(AUDIENCE_PLURALS[a] for a in match.audiences)}).",
                    "audience",
                )
            )
        elif self.audience is not None and self.audience not in match.audiences:
            self.problems.append(
                Problem(
                    None,
                    f"{AUDIENCE_PLURALS.get(self.audience, self.audience).capitalize()} are not "
                    f"part of this round (it asks {', '.join(match.audiences)}).",
                    "audience",
                )
            )
            self.audience = None

    def cell(self, cells: list[str], name: str) -> str:
        i = self.table.columns.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    def read(self, number: int, cells: list[str]) -> None:
        """Read one row: its answers as records, or its problems."""
        if not any(cells):
            return
        if self.table.delimiter is not None:
            _refuse_merged_rows(number, cells, self.table, self.match, self.seen_wordings)
        problems = self.formulas(number)
        if problems:
            self.problems += problems
            return
        audience, problems = self.who(number, cells)
        label = self.cell(cells, "respondent") or None
        if label is not None and len(label) > MAX_LABEL:
            problems.append(
                Problem(
                    number, f"the respondent label is over {MAX_LABEL} characters", "respondent"
                )
            )
        if audience is None and not problems:
            audience = ""  # not chosen yet: the wordings are still shown, to be mapped
        if self.table.layout == WIDE:
            if problems:
                self.problems += problems
                return
            label = label or f"row {number}"  # a row is one person
            filled = False
            for index, wording in self.table.questions.items():
                answer = cells[index] if index < len(cells) else ""
                if answer:
                    filled = True
                    self.records.append(
                        _Record(number, audience or "", None, wording, index, answer, label)
                    )
            if not filled:
                self.skipped.append(number)
            return
        prio_raw, q_raw = self.cell(cells, "priority"), self.cell(cells, "question")
        priority = None
        if prio_raw:
            priority, msg = self.match.priority(prio_raw)
            if msg:
                problems.append(Problem(number, msg, "priority"))
        if not q_raw:
            problems.append(Problem(number, "the question is empty", "question"))
        if problems:
            self.problems += problems
            return
        self.seen_wordings.add(fold(q_raw))
        answer = self.cell(cells, "answer")
        if not answer:
            self.skipped.append(number)
            return
        self.records.append(_Record(number, audience or "", priority, q_raw, None, answer, label))

    def who(self, number: int, cells: list[str]) -> tuple[str | None, list[Problem]]:
        """Return the row's audience (its cell's, else the one chosen for the file)."""
        if "audience" not in self.table.columns:
            return self.audience, []  # none chosen: the file's one problem says so
        raw = self.cell(cells, "audience")
        if not raw and self.audience is not None:
            return self.audience, []
        audience, msg = self.match.audience(raw)
        return audience, [Problem(number, msg, "audience")] if msg else []

    def formulas(self, number: int) -> list[Problem]:
        """Return a problem for each imported cell of the row that is a formula."""
        formulas = self.table.formulas
        names = {index: name for name, index in self.table.columns.items()}
        names.update({index: show(q, 40) for index, q in self.table.questions.items()})
        return [
            Problem(
                number,
                f"the {name} cell is a formula "
                f"({show(formula_text(formulas, number, index), 40)}); "
                "formulas are never run or imported. Replace it with the value itself "
                "(Copy, then Paste Special > Values).",
                name,
            )
            for index, name in names.items()
            if (number, index) in formulas
        ]


class _Checker:
    """Map each wording to a question, then check every record's answer against it."""

    def __init__(self, match: _Matcher, choices: Choices, reader: _Reader):
        self.match, self.choices, self.reader = match, choices, reader
        self.good: list[ImportRow] = []
        self.problems: list[Problem] = []
        self.wordings: list[Wording] = []
        self.new_questions: list[NewQuestion] = []
        self.label_audience: dict[str, tuple[str, int]] = {}  # label -> (audience, first row)
        self.label_question: dict[tuple[str, str], int] = {}  # (label, question) -> row
        self.blocked: set[tuple[str, str]] = set()  # (wording, audience) the question skips

    def check(self) -> None:
        # A problem on a row's audience or priority leaves the file unusable: the rows that
        # remain are still mapped and checked, so every problem shows at once.
        records = self.reader.records
        groups: dict[str, list[_Record]] = {}
        for r in records:
            r.key = wording_key(r.wording, r.priority, r.column)
            groups.setdefault(r.key, []).append(r)
            if len(groups) > MAX_WORDINGS:
                raise ImportFileError(
                    f"The file asks more than {MAX_WORDINGS} different questions (row {r.row} "
                    "has another), so its question column may hold something else, such as "
                    "the answers. Check the columns' names in the first row, or split the file."
                )
        wordings = [self.wording(key, rs) for key, rs in groups.items()]
        wordings = self.suggest(wordings, groups)
        questions: dict[str, Question | NewQuestion | None] = {}
        for i, w in enumerate(wordings):
            w, question = self.resolve(w, groups[w.key])
            wordings[i] = w
            questions[w.key] = question
        self.wordings = wordings
        for r in records:
            question = questions[r.key]
            if r.audience and question is not None and (r.key, r.audience) not in self.blocked:
                self.answer(r, question)

    def wording(self, key: str, records: list[_Record]) -> Wording:
        first = records[0]
        audiences = tuple(a for a in AUDIENCES if any(r.audience == a for r in records))
        return Wording(
            key=key,
            text=" ".join(first.wording.split()),
            priority=first.priority,
            column=first.column,
            audiences=audiences,
            answers=len(records),
            first_row=first.row,
            longest=max(len(r.answer) for r in records),
        )

    def suggest(self, wordings: list[Wording], groups: dict[str, list[_Record]]) -> list[Wording]:
        """Attach each wording's exact match, else its closest question whose options (if it
        has any) its answers fit."""
        out: list[Wording] = []
        fuzzy: list[int] = []
        for w in wordings:
            q, msg = self.match.question(w.text, w.priority)
            if q is not None:
                how = "id" if fold(w.text) == fold(q.id) else "wording"
                fits = self.fits(q, groups[w.key])
                if not fits and how == "wording":
                    # The same wording kept for written answers (an earlier import's)?
                    other = next(
                        (
                            x
                            for x in self.match.same_wording(w.text, q.priority)
                            if x is not q and self.fits(x, groups[w.key])
                        ),
                        None,
                    )
                    q, fits = (other, True) if other is not None else (q, fits)
                w = replace(w, suggestion=Suggestion(q.id, 1.0, how, fits))
            elif msg is None:
                fuzzy.append(len(out))
            out.append(w)
        todo = [i for i in fuzzy if not self.choices.target_for(out[i].key, out[i].text)]
        by_scope: dict[tuple[str | None, tuple[str, ...]], list[int]] = {}
        for i in todo:
            by_scope.setdefault((out[i].priority, out[i].audiences), []).append(i)
        for (priority, audiences), indices in by_scope.items():
            candidates = self.match.candidates(priority, audiences)
            written = [q for q in candidates if not q.choices()]
            # Only the wordings whose answers are all options may go to a choice question.
            for i in indices:
                records = groups[out[i].key]
                fitting = [q for q in candidates if q.choices() and self.fits(q, records)]
                (found,) = closest([out[i].text], written + fitting)
                out[i] = replace(out[i], suggestion=found)
        return out

    def fits(self, q: Question, records: list[_Record]) -> bool:
        """Return True when every answer fits the question (one of its options, if any)."""
        if not q.choices():
            return True
        return all(self.match.answer(q, r.audience, r.answer)[2] is None for r in records)

    def resolve(
        self, w: Wording, records: list[_Record]
    ) -> tuple[Wording, Question | NewQuestion | None]:
        """Return the wording with its target, and the question its answers go to."""
        match, choices = self.match, self.choices
        default_priority = w.priority or choices.priority
        if default_priority is None:
            default_priority = match.guess_priority(w.text)
        w = replace(w, new_priority=default_priority)
        target = choices.target_for(w.key, w.text)
        if target is None:
            _, msg = match.question(w.text, w.priority)
            if msg:
                self.problem(w, records, msg)
                return w, None
            s = w.suggestion
            lenient = choices.suggestions or choices.new_questions
            if s is not None and s.exact and (s.fits or not lenient):
                target = Target(QUESTION, s.question_id)
            elif choices.suggestions and w.suggestion is not None and w.suggestion.chosen:
                target = Target(QUESTION, w.suggestion.question_id)
            elif choices.new_questions:
                target = Target(NEW, priority=default_priority)
        if target is None:
            near = ""
            if w.suggestion is not None:
                near = f" (the closest is {w.suggestion.question_id})"
            self.problem(
                w,
                records,
                f"unknown question {show(w.text)}: give its id or its exact wording, or map it "
                f"to a question{near} or to a new local question",
            )
            return w, None
        w = replace(w, target=target)
        if target.kind == SKIP:
            return w, None
        if target.kind == QUESTION:
            return w, self.existing(w, records, str(target.question_id))
        return w, self.new(w, records, target.priority or default_priority)

    def existing(self, w: Wording, records: list[_Record], qid: str) -> Question | None:
        match = self.match
        try:
            q = match.catalogue.question(qid)
        except KeyError:
            self.problem(w, records, f"there is no question {show(qid)} to map {show(w.text)} to")
            return None
        if q.priority not in match.allowed:
            title = match.titles.get(q.priority, q.priority)
            self.problem(
                w,
                records,
                f"the question {show(w.text)} is about {show(title)}, not part of this round",
            )
            return None
        for aud in w.audiences:
            if q.text_for(aud) is None:
                rows = [r for r in records if r.audience == aud]
                self.blocked.add((w.key, aud))
                self.problem(
                    w,
                    rows,
                    f"the question {show(w.text if fold(w.text) == fold(qid) else qid)} is not "
                    f"asked of {AUDIENCE_PLURALS[aud]}: map {show(w.text)} to a question they "
                    "are asked, or to a new local question",
                )
        return q

    def new(self, w: Wording, records: list[_Record], priority: str | None) -> NewQuestion | None:
        match = self.match
        if priority is None:
            self.problem(
                w, records, f"choose the priority to put the new question {show(w.text)} under"
            )
            return None
        if priority not in match.allowed or priority not in match.titles:
            self.problem(
                w,
                records,
                f"a new question cannot go under {show(match.titles.get(priority, priority))}: "
                f"it is not part of this round (it covers {match.covers()})",
            )
            return None
        found = wording_rules.hard_problems(w.text, "text")
        if found:
            self.problem(
                w,
                records,
                f"the wording {show(w.text)} {found[0]}, too long to become a question: map it "
                "to an existing question, or shorten it in the file",
            )
            return None
        new = NewQuestion(w.key, priority, w.text, w.audiences, w.longest)
        self.new_questions.append(new)
        return new

    def problem(self, w: Wording, records: list[_Record], message: str) -> None:
        rows = sorted({r.row for r in records})
        more = f" ({len(rows) - 1} more rows like it)" if len(rows) > 1 else ""
        column = "question" if w.column is None else show(w.text, 40)
        self.problems.append(Problem(rows[0] if rows else w.first_row, message + more, column))

    def answer(self, r: _Record, question: Question | NewQuestion) -> None:
        column = "answer" if r.column is None else show(r.wording, 40)
        if isinstance(question, NewQuestion):
            text, choice, msg = r.answer, None, None
            if len(r.answer) > MAX_NEW_LENGTH:
                msg = (
                    f"the answer is {len(r.answer):,} characters long; a question takes at most "
                    f"{MAX_NEW_LENGTH:,}"
                )
            qid, priority, new = "", question.priority, question.key
        else:
            text, choice, msg = self.match.answer(question, r.audience, r.answer)
            qid, priority, new = question.id, question.priority, None
        if msg:
            self.problems.append(Problem(r.row, msg, column))
            return
        if r.label is not None:
            msg = self.one_person(r.row, r.label, r.audience, qid or f"new:{new}")
            if msg:
                self.problems.append(Problem(r.row, msg, "respondent"))
                return
        self.good.append(ImportRow(r.row, r.audience, priority, qid, text, choice, r.label, new))

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


def _refuse_merged_rows(
    number: int, cells: list[str], table: Table, match: _Matcher, seen: set[str]
) -> None:
    """Raise ImportFileError when a quote mark left open swallowed the rows after this one.

    CSV lets a quoted cell run over several lines, so an unclosed quote reads the next rows
    into one cell without any error. An answer may hold line breaks; it does not hold a line
    that reads as a row of this file (a known audience, then a known priority or question
    in their columns; in a wide file, as many cells as the header), nor push cells past the
    header's last column.
    """
    spans = [i for i, c in enumerate(cells) if "\n" in c]
    if not spans:
        return
    cols = table.columns
    overflow = any(c for c in cells[len(table.header) :])
    swallowed = overflow or any(
        _reads_as_row(
            next(csv.reader([line], delimiter=table.delimiter or ","), []), table, match, seen
        )
        for i in spans
        for line in cells[i].splitlines()[1:]
    )
    if swallowed:
        names = {index: name for name, index in cols.items()}
        names.update({index: show(q, 40) for index, q in table.questions.items()})
        cell = names.get(spans[0], "a")
        raise ImportFileError(
            f"Row {number} opens a quote mark that is not closed where its {cell} cell ends, "
            "so the rows after it were read into that cell. Close the quote (or delete it), "
            "then import the file again."
        )


def _reads_as_row(fields: list[str], table: Table, match: _Matcher, seen: set[str]) -> bool:
    cols = table.columns

    def cell(name: str) -> str:
        i = cols.get(name)
        return fields[i].strip() if i is not None and i < len(fields) else ""

    if table.layout == WIDE:
        return len(table.header) >= 3 and len(fields) >= len(table.header)
    if "audience" in cols and AUDIENCE_ALIASES.get(fold_header(cell("audience"))) is None:
        return False
    priority, question = fold(cell("priority")), fold(cell("question"))
    return bool(
        (priority and priority in match.priority_names)
        or (question and (match.knows_question(question) or question in seen))
    )
