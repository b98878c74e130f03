"""The plan's approved quotes as CSV: one row per quote, in plan order."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

from surveys.export import words
from surveys.export.plan import Plan, printable

COLUMNS = (
    "round",
    "priority_number",
    "priority",
    "priority_title",
    "audience",
    "n_respondents",
    "question_id",
    "question",
    "quote",
    "people",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return a value a spreadsheet will show as text, never run as a formula."""
    # A leading apostrophe is how spreadsheet programs mark "this is text" (CSV injection).
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def quote_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    """Yield one dict per printed quote, in the order the plan prints them."""
    for s in plan.sections:
        for box in s.boxes:
            for q in box.questions:
                for quote in q.quotes:
                    yield {
                        "round": plan.round.code,
                        "priority_number": s.number,
                        "priority": s.key,
                        "priority_title": s.title,
                        "audience": words.audience_label(box.audience, plan.lang),
                        "n_respondents": box.n_text,
                        "question_id": q.question_id,
                        "question": q.wording,
                        "quote": quote.text,
                        "people": quote.count,
                    }


def write_quotes_csv(plan: Plan, out: IO[str], *, allow_empty: bool = False) -> int:
    """Write the plan's quotes as CSV with a header; return how many were written."""
    if not allow_empty:
        plan.require_quotes()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    n = 0
    for row in quote_rows(plan):
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
        n += 1
    return n
