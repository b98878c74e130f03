"""Reading an import file: bytes in, a table of text cells out, or a clear ImportFileError.

CSV in any encoding a lead is likely to have (UTF-8 with or without a byte order mark,
UTF-16 with one, Windows-1252 from older Excel), separated by commas, semicolons or tabs; or
an Excel workbook (.xlsx), opened read-only with cached values only: a formula is never
evaluated, only found and reported (``Table.formulas``). The header row names the columns
(``COLUMN_ALIASES``); rows keep their spreadsheet numbers.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time

#: Files must be smaller than this (50 MB).
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
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

    def score(delim: str) -> tuple[int, int]:
        cells = [fold_header(c) for c in first.split(delim)]
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


def formula_text(formulas: dict[tuple[int, int], str], row: int, column: int) -> str:
    """Return a cell's formula as the spreadsheet shows it (with its = sign)."""
    return "=" + formulas[(row, column)].lstrip("=")


def _header(rows: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    for number, cells in rows:
        if any(cells):
            return number, cells
    return None


def _columns(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = COLUMN_ALIASES.get(fold_header(cell))
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


def _missing_columns_error(cells: list[str], found: dict[str, int]) -> ImportFileError:
    missing = [c for c in REQUIRED if c not in found]
    shown = ", ".join(repr(c) for c in cells if c) or "(nothing)"
    return ImportFileError(
        f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. The first row "
        "must name the columns audience, priority, question and answer (and, if you like, "
        f"respondent). The first row here has: {shown[:300]}."
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


@contextmanager
def open_table(data: bytes, filename: str = "", encoding: str | None = None) -> Iterator[Table]:
    """Read a file's header and yield its table (a workbook stays open until the block ends).

    Raises ImportFileError when the file cannot be read as a table of answers at all
    (too big, empty, wrong encoding, missing columns, not a CSV or workbook).
    """
    if len(data) >= MAX_IMPORT_BYTES:
        raise ImportFileError(too_big_message(len(data)))
    kind, used, notes, rows, delimiter = _table(data, filename, encoding)
    sheet_index = 0
    wb = None
    try:
        if kind == "xlsx":
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
        cols = _columns(cells)
        if any(c not in cols for c in REQUIRED):
            raise _missing_columns_error(cells, cols)
        formulas: dict[tuple[int, int], str] = {}
        if kind == "xlsx" and _has_formulas(data):
            formulas = _formula_cells(data, sheet_index)
        ignored = [c for i, c in enumerate(cells) if c and i not in cols.values()]
        if ignored:
            notes.append(f"Columns not imported: {', '.join(show(c, 40) for c in ignored[:10])}.")
        yield Table(kind, used, notes, header_row, cells, cols, rows, formulas, delimiter)
    finally:
        if wb is not None:
            wb.close()


def show(value: str, limit: int = 60) -> str:
    """Return a cell quoted for a message, on one line and cut short when long."""
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
