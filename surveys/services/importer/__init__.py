"""Import answers collected elsewhere (paper questionnaires, Microsoft Forms, a text-message
round) from a CSV or Excel (.xlsx) file into a round.

Three steps, a module each, so nothing is ever half-imported:

1. ``files``: read the bytes as a table (``open_table``), or raise ``ImportFileError`` with a
   message saying what to do (empty, too big, wrong encoding, missing columns, not a table).
2. ``checking``: ``preview(data, catalogue, priorities=..., audiences=...)`` checks every row
   against the round (pure: bytes in, a ``Preview`` out); rows that do not fit are reported
   with their spreadsheet row numbers.
3. ``storing``: ``commit(session, rnd, preview, ...)`` stores every row or none (one
   savepoint), each answer through the same analysis as a live one.

``import_checked`` is the use case the workbench and ``yjvoice import`` share: it stores a
clean preview and records the import in the audit log.

Two layouts (``files``): a row per answer, with columns ``question`` (id or any wording)
and ``answer`` and, as needed, ``audience``, ``priority`` (key or title) and ``respondent``
(a label such as a questionnaire number; rows with the same label are one person); or, as
Microsoft Forms exports it, a row per person and a column per question. Labels are never
stored; Email and Name columns are never read.

Question wordings that are not a question's id or exact wording are mapped (``mapping``):
to an existing question, or to a new local question under a priority, which the import
creates through the question builder in the same transaction as the answers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from surveys.analysis import pipeline
from surveys.core.catalogue import Catalogue
from surveys.services import audit
from surveys.services.importer.checking import (
    AUDIENCE_PLURALS,
    ImportRow,
    Preview,
    Problem,
    preview,
    preview_for_round,
)
from surveys.services.importer.files import (
    ENCODINGS,
    LIMITS,
    LONG,
    MAX_IMPORT_BYTES,
    WIDE,
    ImportFileError,
    check_workbook,
    fold,
    too_big_message,
)
from surveys.services.importer.mapping import (
    NEW,
    QUESTION,
    SKIP,
    Choices,
    NewQuestion,
    Suggestion,
    Target,
    Wording,
)
from surveys.services.importer.storing import (
    CHANNEL,
    Analyse,
    ImportRefused,
    ImportResult,
    commit,
)
from surveys.storage.models import Round

__all__ = [
    "AUDIENCE_PLURALS",
    "CHANNEL",
    "ENCODINGS",
    "LIMITS",
    "LONG",
    "MAX_IMPORT_BYTES",
    "NEW",
    "QUESTION",
    "SKIP",
    "WIDE",
    "Choices",
    "ImportFileError",
    "ImportRefused",
    "ImportResult",
    "ImportRow",
    "NewQuestion",
    "Preview",
    "Problem",
    "Suggestion",
    "Target",
    "Wording",
    "check_workbook",
    "commit",
    "fold",
    "import_checked",
    "preview",
    "preview_for_round",
    "too_big_message",
]


def import_checked(
    session: Session,
    rnd: Round,
    checked: Preview,
    *,
    secret: str,
    actor: Any,
    analyse: Analyse = pipeline.first_reading,
    base: Catalogue | None = None,
) -> ImportResult:
    """Store a clean preview's rows (and its new questions, under ``base``), all or none,
    and record the import; the caller commits.

    Raises ImportRefused (nothing stored, nothing recorded) like ``commit``.
    """
    result = commit(session, rnd, checked, secret=secret, analyse=analyse, base=base, actor=actor)
    audit.record(
        session,
        "import",
        actor=actor,
        round_id=rnd.id,
        details={
            "answers": result.answers,
            "respondents": result.respondents,
            "duplicates": result.duplicates,
            "questions": len(result.questions),
            "layout": checked.layout,
        },
    )
    return result
