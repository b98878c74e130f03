"""Every live answer of a round as rows (one per answer), and as CSV.

A flagged answer (one that may disclose harm) keeps its row, so counts stay whole, but its
words are withheld unless the safeguarding role asks for them (``include_flagged``): the
lead's working file is not where a disclosure is read. Its cells say so.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any, NamedTuple

from surveys.core.catalogue import Catalogue

COLUMNS = (
    "round",
    "priority",
    "question_id",
    "question_text",
    "audience",
    "channel",
    "respondent",
    "answer",
    "created_at",
    "answer_redacted",
    "sentiment",
    "priority_guess",
    "themes",
    "flagged",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: What a flagged answer's text cells say in an export without ``include_flagged``.
WITHHELD = "[withheld: flagged for safeguarding; only the safeguarding lead's export has it]"
#: What an answer not yet read for safeguarding (the worker's second reading) says instead.
BEING_READ = "[withheld for now: still being read for safeguarding; export again in a minute]"


class AnswerRecord(NamedTuple):
    """One live answer as given, with its analysis (``surveys.storage.queries`` reads them)."""

    priority: str
    question_id: str
    audience: str
    channel: str
    respondent_id: str
    text: str
    created_at: datetime
    redacted: str | None
    sentiment: str | None
    priority_guess: str | None
    themes: tuple[str, ...]
    flagged: bool
    being_read: bool = False  # written, and the recall net has not read it yet


def answer_rows(
    records: Iterable[AnswerRecord],
    round_code: str,
    catalogue: Catalogue,
    *,
    include_flagged: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield one dict per answer record, in the order given.

    A flagged answer's text (raw and redacted) is WITHHELD unless ``include_flagged``; so is,
    for now, one not yet read by the recall net (it may yet be a possible concern).
    """
    texts: dict[tuple[str, str], str] = {}
    for a in records:
        key = (a.question_id, a.audience)
        if key not in texts:
            try:
                texts[key] = catalogue.question(a.question_id).text_for(a.audience) or ""
            except KeyError:
                texts[key] = ""
        show = include_flagged or not (a.flagged or a.being_read)
        hidden = WITHHELD if a.flagged else BEING_READ
        yield {
            "round": round_code,
            "priority": a.priority,
            "question_id": a.question_id,
            "question_text": texts[key],
            "audience": a.audience,
            "channel": a.channel,
            "respondent": "R-" + a.respondent_id[:8].upper(),
            "answer": a.text if show else hidden,
            "created_at": a.created_at.isoformat(timespec="seconds"),
            "answer_redacted": (a.redacted or "") if show else hidden,
            "sentiment": a.sentiment or "",
            "priority_guess": a.priority_guess or "",
            "themes": ";".join(a.themes),
            "flagged": "yes" if a.flagged else ("being read" if a.being_read else "no"),
        }


def _safe_cell(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by spreadsheet programs (CSV
    # injection); a leading apostrophe makes them show it as text.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write rows as CSV with a header; return how many rows were written."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
        n += 1
    return n
