"""Reading an import file: bytes in, a table of text cells out, or a clear ImportFileError.

CSV in any encoding a lead is likely to have (UTF-8 with or without a byte order mark,
UTF-16 with one, Windows-1252 from older Excel), separated by commas, semicolons or tabs; or
an Excel workbook (.xlsx), opened read-only with cached values only: a formula is never
evaluated, only found and reported (``Table.formulas``). Rows keep their spreadsheet numbers.

Two layouts, told apart by the header row:

- **long**: a row per answer, with ``question`` and ``answer`` columns (and, as needed,
  ``audience``, ``priority``, ``respondent``; ``COLUMN_ALIASES``);
- **wide**, as Microsoft Forms exports it: a row per person, a column per question, plus
  ``ID``, ``Start time``, ``Completion time``, ``Email`` and ``Name`` columns. The ID is the
  respondent; the times are ignored; columns of personal details (``PERSONAL``: Email, Name,
  phone, address...) are never read into an answer, and the preview says they were dropped.

A workbook is measured before it is opened (``check_workbook``): its zip directory (how big
each part is once unpacked, and how much it expanded: a zip bomb expands hundreds of times)
and each sheet's declared dimension and real rows, columns and cells, counted by streaming
the sheet's XML without building anything. A file over ``LIMITS`` is refused at once.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

#: A read-only openpyxl workbook and its sheets. Any: openpyxl's stubs describe the writable
#: Worksheet, and a read-only sheet's cells (row None on empty ones) do not match them.
ReadOnlyBook = Any
ReadOnlySheet = Any

#: Files must be smaller than this (50 MB).
MAX_IMPORT_BYTES = 50 * 1024 * 1024
#: Rows below the header: a year of a busy service's answers is a few thousand.
MAX_ROWS = 50_000
#: Columns: a Microsoft Forms export has one per question plus five or six of its own.
MAX_COLUMNS = 200
#: Cells holding something, in the whole sheet (each may become an answer kept in memory).
MAX_CELLS = 500_000
#: One part of a workbook once unpacked (a sheet's XML, its shared strings).
MAX_PART_BYTES = 50 * 1024 * 1024
#: The whole workbook once unpacked.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: How many times a part may expand when unpacked (checked for parts over 1 MB): ordinary
#: sheets expand 5 to 30 times; a zip bomb expands hundreds or thousands of times.
MAX_RATIO = 100
RATIO_FROM_BYTES = 1024 * 1024
MAX_PARTS = 1_000
LIMITS = {
    "rows": MAX_ROWS,
    "columns": MAX_COLUMNS,
    "cells": MAX_CELLS,
    "part_mb": MAX_PART_BYTES // (1024 * 1024),
    "unpacked_mb": MAX_UNPACKED_BYTES // (1024 * 1024),
    "ratio": MAX_RATIO,
}
LONG, WIDE = "long", "wide"
REQUIRED = ("question", "answer")  # the long layout's; audience and priority may be chosen
OPTIONAL = ("audience", "priority", "respondent")
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
#: In the wide layout (Microsoft Forms), its own columns: the ID is the respondent.
WIDE_ALIASES: dict[str, str] = {
    "audience": "audience",
    "who": "audience",
    "respondent type": "audience",
    "id": "respondent",
    "respondent": "respondent",
    "respondent id": "respondent",
    "respondent label": "respondent",
}
#: Columns of personal details: never imported, in either layout (folded header names).
PERSONAL = frozenset(
    {
        "email",
        "e mail",
        "email address",
        "name",
        "full name",
        "your name",
        "first name",
        "last name",
        "surname",
        "phone",
        "phone number",
        "mobile",
        "mobile number",
        "telephone",
        "address",
        "home address",
        "postcode",
        "post code",
        "date of birth",
        "dob",
    }
)
#: Microsoft Forms' own columns that are not answers (folded; "points ..." and "feedback ..."
#: are a quiz's per-question columns).
FORMS_COLUMNS = frozenset(
    {
        "start time",
        "completion time",
        "last modified time",
        "total points",
        "quiz feedback",
        "grade posted time",
        "language",
    }
)
_FORMS_PREFIXES = ("points ", "feedback ")
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


def fold(text: str) -> str:
    """Fold a cell for matching: case, accents' forms, curly quotes, spaces, end punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"')
    return _SPACE.sub(" ", text).strip().rstrip("?.!:").strip()


def fold_header(text: str) -> str:
    """Fold a column name (or an audience): as ``fold``, and ``_ - /`` as spaces."""
    text = re.sub(r"\(optional\)", "", fold(text))
    return _SPACE.sub(" ", re.sub(r"[_\-/]", " ", text)).strip()


def fold_label(label: str | None) -> str:
    """Fold a respondent label: the same person however the spaces and case were typed."""
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


def too_big_message(size: int | None = None) -> str:
    """Return the message for a file over the size limit."""
    got = f" This file is {size / (1024 * 1024):.1f} MB." if size else ""
    return (
        f"The file is too big to import: files must be smaller than "
        f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB.{got} Split it into smaller files, or remove "
        "columns you do not need."
    )


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

    known = {*COLUMN_ALIASES, *WIDE_ALIASES, *FORMS_COLUMNS, *PERSONAL}

    def score(delim: str) -> tuple[int, int]:
        cells = [fold_header(c) for c in first.split(delim)]
        return sum(1 for c in cells if c in known), len(cells)

    return max((",", ";", "\t"), key=score)


def too_many(what: str, limit: int, found: str = "") -> ImportFileError:
    """Return the refusal for a table over one of ``LIMITS``."""
    got = f" ({found})" if found else ""
    return ImportFileError(
        f"The file is too big to import: it has more than {limit:,} {what}{got}. Files may "
        f"have up to {MAX_ROWS:,} rows, {MAX_COLUMNS:,} columns and {MAX_CELLS:,} filled "
        "cells. Split it into smaller files, or delete the rows and columns you do not need."
    )


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = filled = 0
    try:
        for number, row in enumerate(reader, start=1):
            if number > MAX_ROWS + 1:
                raise too_many("rows", MAX_ROWS)
            if len(row) > MAX_COLUMNS and any(row[MAX_COLUMNS:]):
                raise too_many("columns", MAX_COLUMNS, f"row {number} has {len(row):,}")
            filled += sum(1 for c in row if c)
            if filled > MAX_CELLS:
                raise too_many("filled cells", MAX_CELLS)
            yield number, [c.strip() for c in row[:MAX_COLUMNS]]
    except csv.Error as exc:
        raise ImportFileError(
            f"Row {number + 1} cannot be read as CSV ({exc}). Check for a cell with a stray "
            "quote mark or an extremely long cell."
        ) from None


def _open_workbook(data: bytes, *, data_only: bool) -> ReadOnlyBook:
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
            raise _not_a_workbook(type(exc).__name__) from None


def _sheet_rows(ws: ReadOnlySheet) -> Iterator[tuple[int, list[str]]]:
    ws.reset_dimensions()  # some writers record a wrong size; read what is really there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:  # check_workbook counted them; this is a backstop
                raise too_many("rows", MAX_ROWS)
            yield number, [_cell(v) for v in row[:MAX_COLUMNS]]


# ---- measuring a workbook before opening it --------------------------------------------------
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension)\b([^>]{0,400})")
_REF = re.compile(rb"\br=\"([A-Z]{1,3})?(\d+)\"")
_DIMENSION = re.compile(rb"\bref=\"[A-Z]{0,3}\d*:?([A-Z]{1,3})(\d+)\"")


def column_number(letters: bytes | str) -> int:
    """Return a column's number from its letters (A is 1, XFD is 16,384)."""
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def check_workbook(data: bytes) -> None:
    """Refuse a workbook too big to open, reading only its zip directory and sheets' XML.

    Nothing is built: each sheet's XML is streamed once and its rows, columns and cells
    counted, stopping at the first limit passed (``LIMITS``). Raises ImportFileError.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _not_a_workbook("BadZipFile") from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise ImportFileError(
                f"This workbook has {len(parts):,} parts inside it: that is not an ordinary "
                "spreadsheet. Save it again as .xlsx or as CSV UTF-8."
            )
        total = 0
        for part in parts:
            total += part.file_size
            if part.file_size > MAX_PART_BYTES:
                raise ImportFileError(
                    f"The file is too big to import: once unpacked, its part {part.filename!r} "
                    f"is {_mb(part.file_size)} (at most {_mb(MAX_PART_BYTES)}). Split it into "
                    "smaller files, or delete what you do not need."
                )
            if part.file_size > RATIO_FROM_BYTES and part.file_size > MAX_RATIO * max(
                part.compress_size, 1
            ):
                raise ImportFileError(
                    f"This workbook unpacks to {part.file_size // max(part.compress_size, 1):,} "
                    f"times its size ({part.filename!r}: {_mb(part.file_size)}), as a zip bomb "
                    "does, so it was not opened. If it is a real spreadsheet, delete its empty "
                    "rows and columns and save it again, or save it as CSV UTF-8."
                )
        if total > MAX_UNPACKED_BYTES:
            raise ImportFileError(
                f"The file is too big to import: it is {_mb(total)} once unpacked (at most "
                f"{_mb(MAX_UNPACKED_BYTES)}). Split it into smaller files."
            )
        for part in parts:
            if _SHEET_PART.match(part.filename):
                _measure_sheet(archive, part)


def _measure_sheet(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """Count a sheet's rows, columns and cells from its XML; raise at the first limit passed."""
    rows = max_row = column = max_column = cells = 0
    read = 0
    tail = b""
    try:
        with archive.open(part) as fh:
            while True:
                chunk = fh.read(1 << 20)
                read += len(chunk)
                if read > MAX_PART_BYTES:  # the directory may understate a part's size
                    raise ImportFileError(
                        f"The file is too big to import: once unpacked, {part.filename!r} is "
                        f"over {_mb(MAX_PART_BYTES)}. Split it into smaller files."
                    )
                buf = tail + chunk
                end = len(buf) if not chunk else buf.rfind(b">") + 1
                for m in _TAG.finditer(buf, 0, end):
                    tag, attrs = m.group(1), m.group(2)
                    if tag == b"dimension":
                        dim = _DIMENSION.search(attrs)
                        if dim:
                            declared_cols, declared_rows = column_number(dim[1]), int(dim[2])
                            _refuse_size(declared_rows - 1, declared_cols, 0, "says it has")
                        continue
                    ref = _REF.search(attrs)
                    if tag == b"row":
                        rows += 1
                        column = 0
                        max_row = max(max_row, rows, int(ref[2]) if ref else 0)
                        if max_row > MAX_ROWS + 1:
                            _refuse_size(max_row - 1, 0, 0, "has")
                        continue
                    column = column_number(ref[1]) if ref and ref[1] else column + 1
                    cells += 1
                    if column > max_column:
                        max_column = column
                        if max_column > MAX_COLUMNS:
                            _refuse_size(0, max_column, 0, "has")
                    if cells > MAX_CELLS:
                        _refuse_size(0, 0, cells, "has")
                if not chunk:
                    break
                tail = buf[end:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error):
        raise _not_a_workbook("BadZipFile") from None


def _refuse_size(rows: int, columns: int, cells: int, verb: str) -> None:
    if rows > MAX_ROWS:
        raise too_many("rows", MAX_ROWS, f"the sheet {verb} {rows:,}")
    if columns > MAX_COLUMNS:
        raise too_many("columns", MAX_COLUMNS, f"the sheet {verb} {columns:,}")
    if cells > MAX_CELLS:
        raise too_many("cells", MAX_CELLS, f"the sheet {verb} more")


def _not_a_workbook(why: str) -> ImportFileError:
    return ImportFileError(
        "This is not an Excel workbook we can read (.xlsx). Open it in Excel and save "
        f"it again as .xlsx or as CSV UTF-8. ({why})"
    )


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


def formula_text(formulas: dict[tuple[int, int], str], row: int, column: int) -> str:
    """Return a cell's formula as the spreadsheet shows it (with its = sign)."""
    return "=" + formulas[(row, column)].lstrip("=")


def _header(rows: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    for number, cells in rows:
        if any(cells):
            while cells and not cells[-1]:
                cells = cells[:-1]
            return number, cells
    return None


def _columns(cells: list[str], aliases: dict[str, str] = COLUMN_ALIASES) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = aliases.get(fold_header(cell))
        if name is None:
            continue
        if name in found:
            raise ImportFileError(
                f"Two columns both mean '{name}' ({cells[found[name]]!r} and {cell!r}); keep one."
            )
        found[name] = index
    return found


def _safe_columns(cells: list[str]) -> dict[str, int]:
    try:
        return _columns(cells)
    except ImportFileError:
        return {}


def is_personal(header: str) -> bool:
    """Return True for a column of personal details (Email, Name...): never imported."""
    return fold_header(header) in PERSONAL


def _is_forms_column(header: str) -> bool:
    folded = fold_header(header)
    return folded in FORMS_COLUMNS or folded.startswith(_FORMS_PREFIXES)


def _looks_like_question(header: str) -> bool:
    return header.strip().endswith("?")


@dataclass(frozen=True)
class Layout:
    """How a header row lays a table out: which columns hold what."""

    kind: str  # LONG or WIDE
    columns: dict[str, int]  # audience, priority, question, answer, respondent -> index
    questions: dict[int, str]  # wide only: column index -> the question as headed
    dropped: tuple[str, ...]  # columns of personal details, never read
    ignored: tuple[str, ...]  # other columns not imported


def layout_of(cells: list[str]) -> Layout:
    """Tell the long layout (question and answer columns) from the wide one (a column per
    question); raise ImportFileError for a header that is neither, or both at once."""
    if len(cells) > MAX_COLUMNS:
        raise too_many("columns", MAX_COLUMNS, f"the first row has {len(cells):,}")
    cols = _columns(cells)
    dropped = tuple(c for c in cells if c and is_personal(c))
    if "question" in cols and "answer" in cols:
        used = set(cols.values())
        others = [c for i, c in enumerate(cells) if c and i not in used and not is_personal(c)]
        asked = [c for c in others if _looks_like_question(c)]
        if asked:
            raise ImportFileError(
                "This file mixes the two layouts: it has question and answer columns (a row "
                f"per answer) and also columns that look like questions ({show(asked[0])}"
                f"{' and more' if len(asked) > 1 else ''}), as a Microsoft Forms export "
                "has (a column per question). Use one layout: delete those columns, or the "
                "question and answer columns."
            )
        return Layout(LONG, cols, {}, dropped, tuple(others))
    if "question" in cols or "answer" in cols:
        missing = "answer" if "question" in cols else "question"
        shown = ", ".join(repr(c) for c in cells if c) or "(nothing)"
        raise ImportFileError(
            f"Missing column: {missing}. A file with a row per answer needs both a question "
            "column and an answer column (and, if you like, audience, priority and "
            "respondent); a Microsoft Forms export has a column per question instead, and "
            f"neither. The first row here has: {shown[:300]}."
        )
    wide = _columns(cells, WIDE_ALIASES)
    used = set(wide.values())
    questions: dict[int, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        if not cell or index in used or is_personal(cell):
            continue
        if _is_forms_column(cell) or fold_header(cell) in COLUMN_ALIASES:
            ignored.append(cell)
        else:
            questions[index] = cell
    if not questions:
        shown = ", ".join(repr(c) for c in cells if c) or "(nothing)"
        raise ImportFileError(
            "Missing columns: question, answer. The first row must either name the columns "
            "question and answer (a row per answer; with audience, priority and respondent "
            "if you like) or, as a Microsoft Forms export does, hold one question per column. "
            f"The first row here has: {shown[:300]}."
        )
    return Layout(WIDE, wide, questions, dropped, tuple(ignored))


def _readable(cells: list[str]) -> bool:
    try:
        layout_of(cells)
    except ImportFileError:
        return False
    return True


def _pick_sheet(
    wb: ReadOnlyBook,
) -> tuple[int, tuple[int, list[str]] | None, Iterator[tuple[int, list[str]]]]:
    """Choose the first sheet with a row per answer, else the first that reads as a table."""
    if not wb.worksheets:
        raise ImportFileError("The workbook has no sheets.")
    fallback = None
    for index, ws in enumerate(wb.worksheets):
        rows = _sheet_rows(ws)
        header = _header(rows)
        if header is None:
            continue
        if all(c in _safe_columns(header[1]) for c in REQUIRED):
            return index, header, rows
        if fallback is None and _readable(header[1]):
            fallback = index
    index = fallback or 0
    rows = _sheet_rows(wb.worksheets[index])
    return index, _header(rows), rows


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


@dataclass
class Table:
    """A file read as a table: its header's columns, then its rows as they are read."""

    kind: str  # csv | xlsx
    encoding: str | None
    notes: list[str]
    header_row: int
    header: list[str]
    columns: dict[str, int]  # column name (``REQUIRED``, ``OPTIONAL``) -> index
    rows: Iterator[tuple[int, list[str]]]  # (spreadsheet row number, cells) below the header
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, index) -> formula
    delimiter: str | None = None  # CSV only: to read a line of a cell as a row
    layout: str = LONG
    questions: dict[int, str] = field(default_factory=dict)  # wide: column index -> question
    dropped: tuple[str, ...] = ()  # columns of personal details, never read


@contextmanager
def open_table(data: bytes, filename: str = "", encoding: str | None = None) -> Iterator[Table]:
    """Read a file's header and yield its table (a workbook stays open until the block ends).

    Raises ImportFileError when the file cannot be read as a table of answers at all
    (too big, empty, wrong encoding, missing columns, mixed layouts, not a CSV or workbook).
    """
    if len(data) >= MAX_IMPORT_BYTES:
        raise ImportFileError(too_big_message(len(data)))
    kind, used, notes, rows, delimiter = _table(data, filename, encoding)
    sheet_index = 0
    wb = None
    try:
        if kind == "xlsx":
            check_workbook(data)  # before openpyxl builds anything
            wb = _open_workbook(data, data_only=True)
            sheet_index, header, rows = _pick_sheet(wb)
            if len(wb.worksheets) > 1:
                notes.append(
                    f"The workbook has {len(wb.worksheets)} sheets; only "
                    f"{show(wb.worksheets[sheet_index].title)} was read."
                )
        else:
            header = _header(rows)
        if header is None:
            raise ImportFileError("The file is empty: no header row and no answers.")
        header_row, cells = header
        layout = layout_of(cells)
        formulas: dict[tuple[int, int], str] = {}
        if kind == "xlsx" and _has_formulas(data):
            formulas = _formula_cells(data, sheet_index)
        if layout.dropped:
            notes.append(
                f"Columns of personal details were dropped, never imported: "
                f"{', '.join(show(c, 40) for c in layout.dropped[:10])}."
            )
        if layout.ignored:
            notes.append(
                f"Columns not imported: {', '.join(show(c, 40) for c in layout.ignored[:10])}"
                f"{' and more' if len(layout.ignored) > 10 else ''}."
            )
        yield Table(
            kind,
            used,
            notes,
            header_row,
            cells,
            layout.columns,
            rows,
            formulas,
            delimiter,
            layout.kind,
            layout.questions,
            layout.dropped,
        )
    finally:
        if wb is not None:
            wb.close()


def show(value: str, limit: int = 60) -> str:
    """Return a cell quoted for a message, on one line and cut short when long."""
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
