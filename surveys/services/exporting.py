"""Export a round: the plan's tables in one format, or every answer as CSV, with the audit record.

The workbench and ``yjvoice export`` both call ``export_plan`` and ``export_answers``; they
differ only in where the bytes go (a download, a file) and who the actor is. The caller
commits: the audit record lands with the export, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from sqlalchemy.orm import Session

from surveys.analysis.clustering import load_codebook
from surveys.core.catalogue import Catalogue
from surveys.export.answers import answer_rows, write_csv
from surveys.export.plan import Plan, plan_from_rows, printable
from surveys.export.suppression import MIN_GROUP
from surveys.services import audit
from surveys.storage import queries
from surveys.storage.models import Narrative, Round, utcnow


@dataclass(frozen=True)
class Format:
    """A file format the plan is exported in."""

    label: str
    mimetype: str
    binary: bool


FORMATS: dict[str, Format] = {
    "docx": Format(
        "Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", True
    ),
    "xlsx": Format(
        "Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True
    ),
    "csv": Format("CSV", "text/csv; charset=utf-8", False),
    "md": Format("Markdown", "text/markdown; charset=utf-8", False),
}


def build_plan(
    session: Session,
    rnd: Round,
    catalogue: Catalogue,
    *,
    min_group: int = MIN_GROUP,
    lang: str = "en",
) -> Plan:
    """Read one round and return its plan tables, small numbers suppressed, in a language."""
    return plan_from_rows(
        queries.round_info(session, rnd),
        queries.plan_rows(session, rnd),
        queries.accepted_actions(session, rnd),
        catalogue,
        min_group=min_group,
        narratives=queries.narratives(session, rnd),
        theme_labels=theme_labels(),
        lang=lang,
    )


@cache
def theme_labels() -> dict[str, str]:
    """Return the codebook's theme labels by key (the narrative drafts name themes)."""
    return {code.key: code.label for code in load_codebook()}


#: Longest narrative a lead may save (a few paragraphs).
MAX_NARRATIVE = 4000


class NarrativeError(ValueError):
    """A narrative cannot be saved (unknown priority, too long)."""


def save_narrative(session: Session, rnd: Round, priority: str, text: str, *, actor: Any) -> bool:
    """Keep the lead's narrative for one priority; empty text goes back to the draft.

    Returns True when a narrative is now kept, False when the draft is back. The audit
    record says which priority changed, never the words.
    """
    if priority not in rnd.priorities and priority != "general":
        raise NarrativeError(f"{priority!r} is not a priority of round {rnd.code}")
    text = printable(text).strip()
    if len(text) > MAX_NARRATIVE:
        raise NarrativeError(f"a narrative may be at most {MAX_NARRATIVE:,} characters")
    row = session.get(Narrative, (rnd.id, priority))
    if not text:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = Narrative(round_id=rnd.id, priority=priority, text=text)
            session.add(row)
        row.text, row.updated_at = text, utcnow()
        row.updated_by = audit.actor_id(actor)
    audit.record(
        session,
        "narrative",
        actor=actor,
        round_id=rnd.id,
        target=f"priority:{priority}",
        details={"kept": bool(text)},
    )
    return bool(text)


def write_plan(plan: Plan, fmt: str, out: IO[Any]) -> None:
    """Write a plan in one of ``FORMATS`` (a binary stream for docx and xlsx, else text).

    Raises NoApprovedQuotes when the plan has no quotes.
    """
    # Imported here: python-docx and openpyxl take a moment to load, and most callers write
    # one format.
    if fmt == "docx":
        from surveys.export.docx import write_docx

        write_docx(plan, out)
    elif fmt == "xlsx":
        from surveys.export.xlsx import write_xlsx

        write_xlsx(plan, out)
    elif fmt == "csv":
        from surveys.export.quotes_csv import write_quotes_csv

        write_quotes_csv(plan, out)
    elif fmt == "md":
        from surveys.export.markdown import write_markdown

        write_markdown(plan, out)
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def export_plan(
    session: Session,
    rnd: Round,
    catalogue: Catalogue,
    fmt: str,
    out: IO[Any],
    *,
    actor: Any,
    min_group: int = MIN_GROUP,
    lang: str = "en",
) -> Plan:
    """Write the round's plan tables to ``out`` and record the export; return the plan.

    ``lang`` is the plan's language (``cy``: Welsh headings, wording and labels in Word and
    Markdown). Raises NoApprovedQuotes, before writing anything, when no quote is approved.
    """
    plan = build_plan(session, rnd, catalogue, min_group=min_group, lang=lang)
    plan.require_quotes()
    write_plan(plan, fmt, out)
    audit.record(
        session,
        "export",
        actor=actor,
        round_id=rnd.id,
        details={"format": fmt, "scope": "quotes", "quotes": plan.quote_count, "lang": lang},
    )
    return plan


def all_answer_rows(
    session: Session, rnd: Round, catalogue: Catalogue, *, include_flagged: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield every live answer of the round as a row of the lead's working file.

    Flagged answers' words are withheld unless ``include_flagged`` (the safeguarding role).
    """
    records = queries.answer_records(session, rnd)
    return answer_rows(records, rnd.code, catalogue, include_flagged=include_flagged)


def export_answers(
    session: Session,
    rnd: Round,
    catalogue: Catalogue,
    out: IO[str],
    *,
    actor: Any,
    include_flagged: bool = False,
) -> int:
    """Write every live answer as given (not for publication) as CSV, record the export and
    return how many rows were written. Flagged answers' words only with ``include_flagged``."""
    rows = all_answer_rows(session, rnd, catalogue, include_flagged=include_flagged)
    n = write_csv(rows, out)
    audit.record(
        session,
        "export",
        actor=actor,
        round_id=rnd.id,
        details={"format": "csv", "scope": "all", "rows": n, "flagged_text": include_flagged},
    )
    return n
