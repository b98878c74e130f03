"""Import answers collected elsewhere (paper questionnaires, Microsoft Forms, a text-message
round) from a CSV or Excel (.xlsx) file into a round.

Two steps, so nothing is ever half-imported:

1. ``preview(data, catalogue, priorities=..., audiences=...)`` reads the file and checks
   every row against the round (pure: bytes in, a ``Preview`` out). Rows that do not fit are
   reported with their spreadsheet row numbers; a file that cannot be read at all raises
   ``ImportFileError`` with a message saying what to do.
2. ``commit(session, rnd, preview, ...)`` stores every row or none (one savepoint), each
   answer through the same analysis as a live one (``surveys.analysis.pipeline``: redaction,
   sentiment, priority, codebook themes, safeguarding -> a case in the queue).

The file has a header row naming the columns ``audience``, ``priority`` (key or title),
``question`` (id or wording), ``answer`` and, optionally, ``respondent`` (a label such as a
questionnaire number; rows with the same label are one person). Labels are never stored:
each becomes a keyed hash, so the same label in a later file finds the same pseudonymous
respondent. Every answer's ``inbound_key`` is derived from its content, so importing the
same file twice stores it once.

Excel files are opened read-only with cached values only: a formula is never evaluated,
nor stored; a formula in an imported column is reported as a problem on its row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import secrets
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveys.analysis import pipeline
from surveys.core import engine
from surveys.core.catalogue import Catalogue, Question
from surveys.core.vocabulary import AUDIENCES
from surveys.services import safeguarding
from surveys.storage import store
from surveys.storage.models import Answer, Respondent, Round, utcnow

CHANNEL = "import"
#: Files must be smaller than this (50 MB).
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_LABEL = 200
REQUIRED = ("audience", "priority", "question", "answer")
OPTIONAL = ("respondent",)
COLUMN_ALIASES: dict[str, str] = {
    "audience": "audience",
    "who": "audience",
    "respondent type": "audience",
    "priority": "priority",
    "priority area": "priority",
    "priority key": "priority",
    "question": "question",
    "question id": "question",
    "question text": "question",
    "answer": "answer",
    "answer text": "answer",
    "response": "answer",
    "respondent": "respondent",
    "respondent label": "respondent",
    "respondent id": "respondent",
    "label": "respondent",
}
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
#: Encodings a lead may choose when the guess is wrong (auto-detection covers most files).
ENCODINGS: dict[str, str] = {
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252 (Western European, older Excel)",
    "utf-16": "UTF-16 (Excel 'Unicode text')",
    "latin-1": "ISO-8859-1 (Latin-1)",
}
SAVE_AS_UTF8 = "In Excel choose File > Save As > 'CSV UTF-8 (Comma delimited)', then upload that."
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


class ImportFileError(ValueError):
    """The file cannot be read as a table of answers; the message says why and what to do."""


class ImportRefused(Exception):
    """The import was not stored: rows do not fit, or someone imported them meanwhile."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


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
        labels = {(r.audience, _norm_label(r.label)) for r in self.rows if r.label}
        return len(labels) + sum(1 for r in self.rows if not r.label)

    def by_audience(self) -> Counter[str]:
        """Return the number of answers per audience."""
        return Counter(r.audience for r in self.rows)

    def by_priority(self) -> Counter[str]:
        """Return the number of answers per priority key."""
        return Counter(r.priority for r in self.rows)


@dataclass(frozen=True)
class ImportResult:
    """What a committed import stored."""

    answers: int
    respondents: int
    duplicates: int  # rows already imported earlier (the same file twice): not stored again
    superseded: int  # earlier answers replaced by a changed answer from the same label
    flagged: int
    cases: tuple[int, ...] = field(default_factory=tuple)


# ---- reading the file -----------------------------------------------------------------------
def _norm(text: str) -> str:
    """Fold a cell for matching: case, accents' forms, curly quotes, spaces, end punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"')
    return _SPACE.sub(" ", text).strip().rstrip("?.!:").strip()


def _norm_header(text: str) -> str:
    text = re.sub(r"\(optional\)", "", _norm(text))
    return _SPACE.sub(" ", re.sub(r"[_\-/]", " ", text)).strip()


def _norm_label(label: str | None) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", label or "")).strip().casefold()


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str, list[str]]:
    """Decode a CSV file's bytes; return (text, encoding used, notes) or raise ImportFileError.

    Auto-detection: a byte order mark, else UTF-8, else Windows-1252 (what older Excel
    writes on UK Windows) when the bytes fit it and the file is not mixed.
    """
    notes: list[str] = []
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"Unknown encoding {encoding!r}.") from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"Line {_line_of(data, exc.start)} of the file cannot be read as "
                f"{ENCODINGS.get(encoding, encoding)}. Choose another encoding, or save it "
                f"as UTF-8. {SAVE_AS_UTF8}"
            ) from None
        used = encoding
    elif data.startswith(codecs.BOM_UTF8):
        text, used = _strict(data, "utf-8-sig"), "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, used = _strict(data, "utf-16"), "utf-16"
    else:
        try:
            text, used = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            text, used = _not_utf8(data, exc), "cp1252"
            notes.append(
                "This file is not UTF-8; it was read as Windows-1252 (older Excel). Check that "
                "accented letters and £ signs look right below. " + SAVE_AS_UTF8
            )
    text = text.lstrip("\ufeff")
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ImportFileError(
            f"Line {line} holds characters that do not belong in a text file, so this does not "
            "look like a CSV file in this encoding (it may be UTF-16 without a marker, or not a "
            f"table at all). Upload a CSV or an Excel .xlsx file. {SAVE_AS_UTF8}"
        )
    return text, used, notes


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file says it is {encoding.upper().replace('-SIG', '')} but line "
            f"{_line_of(data, exc.start)} is not. {SAVE_AS_UTF8}"
        ) from None


def _not_utf8(data: bytes, exc: UnicodeDecodeError) -> str:
    line = _line_of(data, exc.start)
    if b"\x00" in data[:4096]:
        raise ImportFileError(
            "This file is not UTF-8 text: it looks like UTF-16 without a marker, or not a text "
            f"file at all. {SAVE_AS_UTF8}"
        )
    if _UTF8_MULTIBYTE.search(data, 0, exc.start):
        raise ImportFileError(
            f"The file mixes encodings: it reads as UTF-8 until line {line}, which does not. "
            f"Fix or retype that line, or save the whole file again. {SAVE_AS_UTF8}"
        )
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            f"Line {line} of the file is not UTF-8, and the file is not in any encoding we can "
            f"recognise. {SAVE_AS_UTF8}"
        ) from None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _delimiter(text: str) -> str:
    """Return the delimiter that makes the most of the first line's cells column names."""
    first = text.split("\n", 1)[0]

    def score(delim: str) -> tuple[int, int]:
        cells = [_norm_header(c) for c in first.split(delim)]
        return sum(1 for c in cells if c in COLUMN_ALIASES), len(cells)

    return max((",", ";", "\t"), key=score)


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if number > MAX_ROWS + 1:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows; split it up.")
            yield number, [c.strip() for c in row]
    except csv.Error as exc:
        raise ImportFileError(
            f"Row {number + 1} cannot be read as CSV ({exc}). Check for a cell with a stray "
            "quote mark or an extremely long cell."
        ) from None


def _open_workbook(data: bytes, *, data_only: bool):
    import openpyxl  # a moment to load; only Excel imports need it

    with warnings.catch_warnings():
        # openpyxl warns about styles, validations and extensions it does not read;
        # none of them matter for the values.
        warnings.simplefilter("ignore")
        try:
            return openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=data_only, keep_links=False
            )
        except Exception as exc:  # zip, XML and openpyxl's own errors: all "not readable"
            raise ImportFileError(
                "This is not an Excel workbook we can read (.xlsx). Open it in Excel and save "
                f"it again as .xlsx or as CSV UTF-8. ({type(exc).__name__})"
            ) from None


def _sheet_rows(ws) -> Iterator[tuple[int, list[str]]]:
    ws.reset_dimensions()  # some writers record a wrong size; read what is really there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                raise ImportFileError(f"The sheet has more than {MAX_ROWS:,} rows; split it up.")
            yield number, [_cell(v) for v in row]


def _has_formulas(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with z.open(name) as fh:
                        tail = b""
                        while chunk := fh.read(1 << 20):
                            if re.search(rb"<(?:\w+:)?f[ >/]", tail + chunk):
                                return True
                            tail = chunk[-16:]
    except (zipfile.BadZipFile, OSError, RuntimeError):
        return False
    return False


def _formula_cells(data: bytes, sheet_index: int) -> dict[tuple[int, int], str]:
    """Return {(row, column index): formula} for the chosen sheet (formulas are only read)."""
    wb = _open_workbook(data, data_only=False)
    try:
        ws = wb.worksheets[sheet_index]
        ws.reset_dimensions()
        found: dict[tuple[int, int], str] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in ws.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "f":
                        found[(cell.row, cell.column - 1)] = str(cell.value)
        return found
    finally:
        wb.close()


def _formula(formulas: dict[tuple[int, int], str], row: int, column: int) -> str:
    return "=" + formulas[(row, column)].lstrip("=")


def _header(rows: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    for number, cells in rows:
        if any(cells):
            return number, cells
    return None


def _columns(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = COLUMN_ALIASES.get(_norm_header(cell))
        if name is None:
            continue
        if name in found:
            raise ImportFileError(
                f"Two columns both mean '{name}' ({cells[found[name]]!r} and {cell!r}); keep one."
            )
        found[name] = index
    return found


def _missing_columns_error(cells: list[str], found: dict[str, int]) -> ImportFileError:
    missing = [c for c in REQUIRED if c not in found]
    shown = ", ".join(repr(c) for c in cells if c) or "(nothing)"
    return ImportFileError(
        f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. The first row "
        "must name the columns audience, priority, question and answer (and, if you like, "
        f"respondent). The first row here has: {shown[:300]}."
    )


def _table(
    data: bytes, filename: str, encoding: str | None
) -> tuple[str, str | None, list[str], Iterator[tuple[int, list[str]]], str | None]:
    """Return (kind, encoding, notes, rows, delimiter) of a CSV; for a workbook only its kind."""
    name = filename.lower()
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "This is an old Excel file (.xls). Open it in Excel and save it as .xlsx or as "
            "CSV UTF-8, then upload that."
        )
    if data.startswith(b"PK\x03\x04"):
        return "xlsx", None, [], iter(()), None
    if name.endswith((".xlsx", ".xlsm")):
        raise ImportFileError("This file is named .xlsx but is not an Excel workbook.")
    if name.endswith((".ods", ".numbers", ".pdf", ".docx", ".doc")):
        raise ImportFileError("Upload a CSV or an Excel .xlsx file.")
    text, used, notes = decode(data, encoding)
    if not text.strip():
        raise ImportFileError("The file is empty.")
    delimiter = _delimiter(text)
    return "csv", used, notes, _csv_rows(text, delimiter), delimiter


class _Matcher:
    """Match cells to the round's audiences, priorities, questions and answer options."""

    def __init__(self, catalogue: Catalogue, priorities: Sequence[str], audiences: Sequence[str]):
        self.catalogue = catalogue
        self.audiences = tuple(audiences)
        self.allowed = (*priorities, "general")
        self.titles = {b.key: b.title for b in catalogue.banks}
        self.priority_names: dict[str, str] = {}
        for b in catalogue.banks:
            self.priority_names[_norm(b.key)] = b.key
            self.priority_names[_norm(b.key.replace("_", " "))] = b.key
            self.priority_names[_norm(b.title)] = b.key
        self.by_id: dict[str, Question] = {}
        self.by_text: dict[str, dict[str, list[Question]]] = {}  # priority -> wording -> qs
        for b in catalogue.banks:
            words: dict[str, list[Question]] = {}
            for q in b.questions:
                self.by_id[_norm(q.id)] = q
                for wording in set(q.texts.values()):
                    words.setdefault(_norm(wording), []).append(q)
            self.by_text[b.key] = words

    def knows_question(self, wanted: str) -> bool:
        """Return True when a folded cell is a question's id or wording in any bank."""
        return wanted in self.by_id or any(wanted in words for words in self.by_text.values())

    def audience(self, raw: str) -> tuple[str | None, str | None]:
        if not raw:
            return None, "the audience is empty (child, parent, staff or partner)"
        key = AUDIENCE_ALIASES.get(_norm_header(raw))
        if key is None:
            return None, f"unknown audience {_show(raw)}: use child, parent, staff or partner"
        if key not in self.audiences:
            return None, (
                f"audience {_show(raw)} is not part of this round "
                f"(it asks {', '.join(self.audiences)})"
            )
        return key, None

    def priority(self, raw: str) -> tuple[str | None, str | None]:
        key = self.priority_names.get(_norm(raw)) or self.priority_names.get(_norm_header(raw))
        if key is None:
            return None, f"unknown priority {_show(raw)}: give its key or its title"
        if key not in self.allowed:
            return None, (
                f"priority {_show(self.titles[key])} is not part of this round "
                f"(it covers {', '.join(self.titles.get(k, k) for k in self.allowed)})"
            )
        return key, None

    def question(self, raw: str, priority: str | None) -> tuple[Question | None, str | None]:
        wanted = _norm(raw)
        q = self.by_id.get(wanted)
        if q is None and priority is not None:
            found = self.by_text.get(priority, {}).get(wanted, [])
            if len(found) > 1:
                return (
                    None,
                    f"the question {_show(raw)} is asked twice in this priority: use its id",
                )
            q = found[0] if found else None
        if q is None:
            found = [x for words in self.by_text.values() for x in words.get(wanted, [])]
            if len(found) > 1 and priority is None:
                return None, (
                    f"the question {_show(raw)} is in several priorities: give the priority or "
                    "the question id"
                )
            q = found[0] if found else None
        if q is None:
            return None, f"unknown question {_show(raw)}: give its id or its exact wording"
        if priority is not None and q.priority != priority:
            return None, (
                f"the question {_show(raw)} belongs to {_show(self.titles.get(q.priority, ''))}, "
                f"not {_show(self.titles.get(priority, priority))}"
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
        wanted = _norm(raw)
        for opt in options:
            names = {_norm(opt.key), _norm(opt.key.replace("_", " ")), _norm(opt.label(audience))}
            names |= {_norm(v) for v in opt.labels.values()}
            if wanted in names:
                return opt.label(audience), opt.key, None
        allowed = ", ".join(opt.label(audience) for opt in options)
        return "", None, f"the answer {_show(raw)} is not one of: {allowed}"


def _show(value: str, limit: int = 60) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


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
    if len(data) >= MAX_IMPORT_BYTES:
        raise ImportFileError(too_big_message(len(data)))
    digest = hashlib.sha256(data).hexdigest()
    kind, used, notes, rows, delimiter = _table(data, filename, encoding)
    sheet_index = 0
    formulas: dict[tuple[int, int], str] = {}
    wb = None
    try:
        if kind == "xlsx":
            wb = _open_workbook(data, data_only=True)
            sheet_index, header, rows = _pick_sheet(wb)
            if len(wb.worksheets) > 1:
                notes.append(
                    f"The workbook has {len(wb.worksheets)} sheets; only "
                    f"{_show(wb.worksheets[sheet_index].title)} was read."
                )
        else:
            header = _header(rows)
        if header is None:
            raise ImportFileError("The file is empty: no header row and no answers.")
        header_row, cells = header
        cols = _columns(cells)
        if any(c not in cols for c in REQUIRED):
            raise _missing_columns_error(cells, cols)
        if kind == "xlsx" and _has_formulas(data):
            formulas = _formula_cells(data, sheet_index)
        ignored = [c for i, c in enumerate(cells) if c and i not in cols.values()]
        if ignored:
            notes.append(f"Columns not imported: {', '.join(_show(c, 40) for c in ignored[:10])}.")
        checked = _check_rows(
            rows,
            cols,
            catalogue,
            priorities,
            audiences,
            formulas,
            header_row,
            delimiter,
            len(cells),
        )
    finally:
        if wb is not None:
            wb.close()
    good, problems, skipped, stray_formulas = checked
    if stray_formulas:
        notes.append(
            f"{stray_formulas} formula cell(s) in columns that are not imported were ignored."
        )
    if not good and not problems:
        problems.append(
            Problem(None, "There are no answers to import: the file has a header row only.")
            if not skipped
            else Problem(None, "Every row's answer is empty: there is nothing to import.")
        )
    ordered = [c for c in (*REQUIRED, *OPTIONAL) if c in cols]
    return Preview(
        filename=filename,
        kind=kind,
        encoding=used,
        sha256=digest,
        rows=tuple(good),
        problems=tuple(problems),
        notes=tuple(notes),
        skipped=tuple(skipped),
        columns=tuple(sorted(ordered, key=lambda c: cols[c])),
    )


def too_big_message(size: int | None = None) -> str:
    """Return the message for a file over the size limit."""
    got = f" This file is {size / (1024 * 1024):.1f} MB." if size else ""
    return (
        f"The file is too big to import: files must be smaller than "
        f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB.{got} Split it into smaller files, or remove "
        "columns you do not need."
    )


def _pick_sheet(wb) -> tuple[int, tuple[int, list[str]] | None, Iterator[tuple[int, list[str]]]]:
    """Choose the first sheet whose header has the required columns (else the first sheet)."""
    for index, ws in enumerate(wb.worksheets):
        rows = _sheet_rows(ws)
        header = _header(rows)
        if header is not None and all(c in _safe_columns(header[1]) for c in REQUIRED):
            return index, header, rows
    if not wb.worksheets:
        raise ImportFileError("The workbook has no sheets.")
    rows = _sheet_rows(wb.worksheets[0])
    return 0, _header(rows), rows


def _safe_columns(cells: list[str]) -> dict[str, int]:
    try:
        return _columns(cells)
    except ImportFileError:
        return {}


def _check_rows(
    rows: Iterable[tuple[int, list[str]]],
    cols: dict[str, int],
    catalogue: Catalogue,
    priorities: Sequence[str],
    audiences: Sequence[str],
    formulas: dict[tuple[int, int], str],
    header_row: int,
    delimiter: str | None = None,
    width: int = 0,
) -> tuple[list[ImportRow], list[Problem], list[int], int]:
    match = _Matcher(catalogue, priorities, audiences)
    wanted_cols = set(cols.values())
    stray = sum(1 for (r, c) in formulas if c not in wanted_cols or r <= header_row)
    good: list[ImportRow] = []
    problems: list[Problem] = []
    skipped: list[int] = []
    # (audience, label) -> first row; (label, question) -> row; label -> (audience, row)
    label_audience: dict[str, tuple[str, int]] = {}
    label_question: dict[tuple[str, str], int] = {}

    def get(cells: list[str], name: str) -> str:
        i = cols.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    for number, cells in rows:
        if not any(cells):
            continue
        if delimiter is not None:
            _refuse_merged_rows(number, cells, cols, width, delimiter, match)
        row_problems: list[Problem] = []
        for name, index in cols.items():
            if (number, index) in formulas:
                row_problems.append(
                    Problem(
                        number,
                        f"the {name} cell is a formula "
                        f"({_show(_formula(formulas, number, index), 40)}); "
                        "formulas are never run or imported. Replace it with the value itself "
                        "(Copy, then Paste Special > Values).",
                        name,
                    )
                )
        if row_problems:
            problems += row_problems
            continue
        aud_raw, prio_raw, q_raw = (
            get(cells, "audience"),
            get(cells, "priority"),
            get(cells, "question"),
        )
        answer, label = get(cells, "answer"), get(cells, "respondent") or None

        audience, msg = match.audience(aud_raw)
        if msg:
            row_problems.append(Problem(number, msg, "audience"))
        priority = None
        if prio_raw:
            priority, msg = match.priority(prio_raw)
            if msg:
                row_problems.append(Problem(number, msg, "priority"))
        question = None
        if not q_raw:
            row_problems.append(Problem(number, "the question is empty", "question"))
        elif not (prio_raw and priority is None):
            question, msg = match.question(q_raw, priority)
            if msg:
                row_problems.append(Problem(number, msg, "question"))
        if question is not None and not prio_raw and question.priority not in match.allowed:
            title = match.titles.get(question.priority, question.priority)
            row_problems.append(
                Problem(
                    number,
                    f"the question is about {_show(title)}, not part of this round",
                    "question",
                )
            )
            question = None
        if question is not None and audience is not None and question.text_for(audience) is None:
            row_problems.append(
                Problem(
                    number,
                    f"the question {_show(q_raw)} is not asked of {AUDIENCE_PLURALS[audience]}",
                    "question",
                )
            )
            question = None
        if label is not None and len(label) > MAX_LABEL:
            row_problems.append(
                Problem(
                    number, f"the respondent label is over {MAX_LABEL} characters", "respondent"
                )
            )
        if row_problems:
            problems += row_problems
            continue
        assert question is not None and audience is not None
        if not answer:
            skipped.append(number)
            continue
        text, choice, msg = match.answer(question, audience, answer)
        if msg:
            problems.append(Problem(number, msg, "answer"))
            continue
        if label is not None:
            key = _norm_label(label)
            first = label_audience.setdefault(key, (audience, number))
            if first[0] != audience:
                problems.append(
                    Problem(
                        number,
                        f"respondent {_show(label)} is a {first[0]} in row {first[1]} but a "
                        f"{audience} here; one label is one person",
                        "respondent",
                    )
                )
                continue
            earlier = label_question.setdefault((key, question.id), number)
            if earlier != number:
                problems.append(
                    Problem(
                        number,
                        f"respondent {_show(label)} already answered this question in row "
                        f"{earlier}",
                        "respondent",
                    )
                )
                continue
        good.append(
            ImportRow(number, audience, question.priority, question.id, text, choice, label)
        )
    return good, problems, skipped, stray


def _refuse_merged_rows(
    number: int,
    cells: list[str],
    cols: dict[str, int],
    width: int,
    delimiter: str,
    match: _Matcher,
) -> None:
    """Raise ImportFileError when a quote mark left open swallowed the rows after this one.

    CSV lets a quoted cell run over several lines, so an unclosed quote reads the next rows
    into one cell without any error. An answer may hold line breaks; it does not hold a line
    that reads as a row of this file (a known audience, then a known priority or question
    in their columns), nor push cells past the header's last column.
    """
    spans = [i for i, c in enumerate(cells) if "\n" in c]
    if not spans:
        return
    overflow = any(c for c in cells[width:])
    swallowed = overflow or any(
        _reads_as_row(next(csv.reader([line], delimiter=delimiter), []), cols, match)
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

    if AUDIENCE_ALIASES.get(_norm_header(cell("audience"))) is None:
        return False
    priority, question = _norm(cell("priority")), _norm(cell("question"))
    return bool(
        (priority and priority in match.priority_names)
        or (question and match.knows_question(question))
    )


# ---- storing ----------------------------------------------------------------------------------
Analyse = Callable[..., pipeline.Analysis]


def commit(
    session: Session,
    rnd: Round,
    checked: Preview,
    *,
    secret: str,
    analyse: Analyse = pipeline.analyse,
) -> ImportResult:
    """Store every row of a clean preview in one savepoint, or nothing; the caller commits.

    Each answer is analysed like a live one; a flagged answer opens a safeguarding case.
    Rows stored by an earlier import of the same file are skipped, not doubled.
    Raises ImportRefused when the preview has problems or a concurrent import got there first.
    """
    if not checked.ok:
        raise ImportRefused(
            "The file has rows that do not fit; nothing was imported.", checked.problems
        )
    now = utcnow()
    plans = _keys(rnd.id, checked.rows, secret)
    try:
        with session.begin_nested():
            result = _store(session, rnd, plans, secret=secret, analyse=analyse, now=now)
    except IntegrityError:
        raise ImportRefused(
            "Some of these answers were imported by someone else at the same moment; nothing "
            "was imported this time. Try again: rows already stored are skipped."
        ) from None
    return result


@dataclass(frozen=True)
class _Planned:
    row: ImportRow
    respondent_key: str
    answer_key: str


def _keys(round_id: int, rows: Iterable[ImportRow], secret: str) -> list[_Planned]:
    """Derive each row's respondent and answer keys (keyed hashes: labels are never stored)."""
    seen: Counter[str] = Counter()
    out = []
    for r in rows:
        content = f"{r.question_id}\x1f{r.choice or ''}\x1f{r.text}"
        if r.label:
            resp = store.keyed_hash(
                secret, "import-respondent", f"{round_id}\x1f{r.audience}\x1f{_norm_label(r.label)}"
            )
            ans = store.keyed_hash(secret, "import-answer", f"{round_id}\x1f{resp}\x1f{content}")
        else:
            # Two unlabelled people may write the same words: the nth copy is its own answer,
            # and the same file imported again gives the same n.
            base = f"{round_id}\x1f{r.audience}\x1f{content}"
            seen[base] += 1
            ans = store.keyed_hash(secret, "import-answer", f"{base}\x1f#{seen[base]}")
            resp = store.keyed_hash(secret, "import-respondent", f"{round_id}\x1frow\x1f{ans}")
        out.append(_Planned(r, resp, ans))
    return out


def _chunks(items: Sequence[str], size: int = 900) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _store(
    session: Session,
    rnd: Round,
    plans: list[_Planned],
    *,
    secret: str,
    analyse: Analyse,
    now: datetime,
) -> ImportResult:
    inbound = {p.answer_key: f"{CHANNEL}:{p.answer_key}" for p in plans}
    # Every key holds the round id, so only this round's imported answers can match. One
    # scan of them beats thousands of key lookups (which PostgreSQL may plan as scans too).
    existing_keys = set(
        session.scalars(
            select(Answer.inbound_key).where(Answer.round_id == rnd.id, Answer.channel == CHANNEL)
        )
    )
    fresh = [p for p in plans if inbound[p.answer_key] not in existing_keys]
    duplicates = len(plans) - len(fresh)

    resp_keys = list(dict.fromkeys(p.respondent_key for p in fresh))
    respondents: dict[str, Respondent] = {}
    for chunk in _chunks(resp_keys):
        for resp in session.scalars(
            select(Respondent).where(
                Respondent.round_id == rnd.id,
                Respondent.channel == CHANNEL,
                Respondent.resume_key.in_(chunk),
            )
        ):
            respondents[resp.resume_key or ""] = resp
    earlier_ids = {r.id for r in respondents.values()}

    new_people = 0
    for p in fresh:
        if p.respondent_key in respondents:
            continue
        rid = secrets.token_hex(16)
        resp = Respondent(
            id=rid,
            round_id=rnd.id,
            channel=CHANNEL,
            audience=p.row.audience,
            resume_key=p.respondent_key,
            withdraw_hash=store.withdrawal_hash(store.withdrawal_code(secret, rid)),
            state=engine.State(
                stage="done", audience=p.row.audience, audience_fixed=True
            ).to_dict(),
            state_version=0,
            created_at=now,
            updated_at=now,
            completed_at=now,
        )
        respondents[p.respondent_key] = resp
        session.add(resp)
        new_people += 1

    # A changed answer from a label imported before replaces the earlier one (both kept).
    superseded = 0
    if earlier_ids:
        wanted = {(respondents[p.respondent_key].id, p.row.question_id) for p in fresh}
        old = session.execute(
            select(Answer.id, Answer.respondent_id, Answer.question_id).where(
                Answer.respondent_id.in_(list(earlier_ids)), Answer.superseded.is_(False)
            )
        ).all()
        stale = [aid for aid, rid, qid in old if (rid, qid) in wanted]
        for chunk in _chunks(stale):
            session.execute(update(Answer).where(Answer.id.in_(chunk)).values(superseded=True))
        superseded = len(stale)

    cache: dict[tuple[str, str | None], pipeline.Analysis] = {}
    columns = [c.key for c in Answer.__table__.columns if c.key != "id"]
    values: list[dict] = []
    flagged: dict[str, list[str]] = {}  # inbound key -> categories
    answered: dict[str, dict[str, str]] = {}  # respondent key -> question id -> routing value
    for p in fresh:
        r = p.row
        resp = respondents[p.respondent_key]
        answer = Answer(
            round_id=rnd.id,
            respondent_id=resp.id,
            priority=r.priority,
            question_id=r.question_id,
            audience=r.audience,
            channel=CHANNEL,
            text=r.text,
            choice=r.choice,
            inbound_key=inbound[p.answer_key],
            superseded=False,
            created_at=now,
        )
        key = (r.text, r.choice)
        analysis = cache.get(key)
        if analysis is None:
            analysis = cache[key] = analyse(r.text, choice=r.choice)
        pipeline.enrich(answer, analysis)  # flagged ones get their case below, with hooks
        if analysis.flagged:
            flagged[answer.inbound_key] = list(analysis.flag_categories)
        # Inserted as plain rows in one executemany: ORM objects with RETURNING cost
        # seconds per 10,000 rows in query building alone.
        values.append({c: getattr(answer, c) for c in columns if c in answer.__dict__})
        answered.setdefault(p.respondent_key, {})[r.question_id] = r.choice or "*"
    for resp_key, routing in answered.items():
        resp = respondents[resp_key]
        state = dict(resp.state or {})
        state["answers"] = {**state.get("answers", {}), **routing}
        resp.state = state
    session.flush()  # the respondents first: the answers point at them
    if values:
        session.execute(insert(Answer.__table__), values)
    cases: list = []
    if flagged:
        stored: list[Answer] = []
        for chunk in _chunks(list(flagged)):
            stored += session.scalars(select(Answer).where(Answer.inbound_key.in_(chunk)))
        stored.sort(key=lambda a: a.id)
        cases = safeguarding.open_cases(session, [(a, flagged[a.inbound_key]) for a in stored])
    return ImportResult(
        answers=len(values),
        respondents=new_people,
        duplicates=duplicates,
        superseded=superseded,
        flagged=len(flagged),
        cases=tuple(c.id for c in cases),
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
