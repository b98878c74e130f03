"""The every-answer file's rows: what a flagged answer, and one still being read, print."""

from __future__ import annotations

from datetime import UTC, datetime

from surveys.core.catalogue import default_catalogue
from surveys.export.answers import BEING_READ, WITHHELD, AnswerRecord, answer_rows


def record(text: str, *, flagged: bool = False, being_read: bool = False) -> AnswerRecord:
    return AnswerRecord(
        "policing", "policing.opinion", "child", "web", "a" * 32, text,
        datetime(2026, 12, 3, tzinfo=UTC), text, None, None, (), flagged, being_read,
    )  # fmt: skip


def test_an_answer_still_being_read_is_withheld_for_now_and_says_so():
    rows = list(
        answer_rows(
            [record("fine"), record("not read yet", being_read=True), record("x", flagged=True)],
            "ABC234",
            default_catalogue(),
        )
    )
    assert [r["answer"] for r in rows] == ["fine", BEING_READ, WITHHELD]
    assert [r["flagged"] for r in rows] == ["no", "being read", "yes"]
    assert rows[1]["answer_redacted"] == BEING_READ
    everything = answer_rows([record("not read yet", being_read=True)], "ABC234",
                             default_catalogue(), include_flagged=True)  # fmt: skip
    assert next(everything)["answer"] == "not read yet"
