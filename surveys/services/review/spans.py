"""Editing an answer's redactions: pure functions over its spans (dicts), no database.

A span is the anonymiser's ``Span`` as a dict, plus what review adds: ``undone`` (the words
are shown again; the span is kept so it can be redone), ``accepted`` (a reviewer checked it)
and, for one a reviewer added, ``source``, ``by`` and ``at``. Each edit returns new spans;
``render`` gives them back in text order with the published text they make.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from surveys.analysis import redact as redact_mod
from surveys.services.review.errors import ReviewError

#: Categories a reviewer may choose for "redact this too" (the anonymiser's own).
REDACT_CATEGORIES: dict[str, str] = dict(redact_mod.CATEGORIES)
_PLACEHOLDER_RE = re.compile(r"\[[a-z]+(?: \d+)?\]")

Spans = list[dict[str, Any]]


@dataclass(frozen=True)
class Segment:
    """A run of an answer's text: plain, or a redaction (shown highlighted)."""

    text: str
    span: int | None = None  # index into the answer's redactions
    category: str = ""
    placeholder: str = ""
    original: str = ""
    undone: bool = False
    accepted: bool = False


def is_placeholder(text: str) -> bool:
    """Return True when the text is a placeholder such as "[name]" or "[place 2]"."""
    return _PLACEHOLDER_RE.fullmatch(text) is not None


def span_dicts(answer: Any) -> Spans:
    """Return the answer's redaction spans (engine's and reviewer's), in text order."""
    raw = answer.redactions or []
    return [dict(s) for s in raw if isinstance(s, dict)]


def _span(d: Mapping[str, Any]) -> redact_mod.Span:
    return redact_mod.Span(
        int(d["start"]),
        int(d["end"]),
        str(d["category"]),
        str(d["original"]),
        str(d["placeholder"]),
    )


def active_spans(answer: Any) -> list[redact_mod.Span]:
    """Return the spans currently applied to the answer's published text."""
    return [_span(d) for d in span_dicts(answer) if not d.get("undone")]


def raw_segments(text: str, spans: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Split the raw text into plain runs and redactions (undone ones included)."""
    out: list[Segment] = []
    pos = 0
    order = sorted(range(len(spans)), key=lambda i: (int(spans[i]["start"]), i))
    for i in order:
        s = spans[i]
        start, end = int(s["start"]), int(s["end"])
        if start < pos or end > len(text):
            continue  # overlapping an earlier one (an undone span): shown by the earlier
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(
            Segment(
                text[start:end],
                span=i,
                category=str(s["category"]),
                placeholder=str(s["placeholder"]),
                original=str(s["original"]),
                undone=bool(s.get("undone")),
                accepted=bool(s.get("accepted")),
            )
        )
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def published_segments(text: str, spans: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Split the published (redacted) text into plain runs and placeholders."""
    active = [(i, s) for i, s in enumerate(spans) if not s.get("undone")]
    out: list[Segment] = []
    pos = 0
    for i, s in sorted(active, key=lambda p: (int(p[1]["start"]), p[0])):
        start, end = int(s["start"]), int(s["end"])
        if start < pos or end > len(text):
            continue
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(
            Segment(
                str(s["placeholder"]),
                span=i,
                category=str(s["category"]),
                placeholder=str(s["placeholder"]),
                accepted=bool(s.get("accepted")),
            )
        )
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def render(text: str, spans: Sequence[Mapping[str, Any]]) -> tuple[Spans, str]:
    """Return the spans in text order and the published text they make of the raw text."""
    ordered = sorted((dict(s) for s in spans), key=lambda s: (int(s["start"]), int(s["end"])))
    active = [_span(s) for s in ordered if not s.get("undone")]
    return ordered, redact_mod.apply_spans(text, active)


def _copy(spans: Sequence[Mapping[str, Any]]) -> Spans:
    return [dict(s) for s in spans]


def _at(spans: Spans, index: int) -> dict[str, Any]:
    if not 0 <= index < len(spans):
        raise ReviewError("That redaction is no longer there; the page was out of date.")
    return spans[index]


def accepted(spans: Sequence[Mapping[str, Any]], index: int | None = None) -> Spans:
    """Return the spans with one redaction (or every applied one) marked as checked."""
    out = _copy(spans)
    targets = [_at(out, index)] if index is not None else out
    for s in targets:
        if not s.get("undone"):
            s["accepted"] = True
    return out


def undone(spans: Sequence[Mapping[str, Any]], index: int) -> Spans:
    """Return the spans with one redaction undone (its words shown; the span kept for redo)."""
    out = _copy(spans)
    s = _at(out, index)
    s["undone"] = True
    s.pop("accepted", None)
    return out


def redone(spans: Sequence[Mapping[str, Any]], index: int) -> Spans:
    """Return the spans with an undone redaction applied again."""
    out = _copy(spans)
    s = _at(out, index)
    start, end = int(s["start"]), int(s["end"])
    for i, other in enumerate(out):
        if i != index and not other.get("undone") and _overlaps(start, end, other):
            raise ReviewError("Those words overlap another redaction; undo that one first.")
    s.pop("undone", None)
    return out


def _overlaps(start: int, end: int, span: Mapping[str, Any]) -> bool:
    return start < int(span["end"]) and int(span["start"]) < end


def hidden_too(
    text: str,
    spans: Sequence[Mapping[str, Any]],
    selected: str,
    category: str,
    *,
    by: int | None,
    at: str,
) -> tuple[Spans, int]:
    """Return the spans with every occurrence of the selected words hidden too, and how many
    were added (a reviewer's, already accepted)."""
    if category not in REDACT_CATEGORIES:
        raise ReviewError("Choose what kind of detail it is.")
    words = " ".join((selected or "").split())
    if not words:
        raise ReviewError("Type or select the words to hide.")
    if len(words) > 200:
        raise ReviewError("Select at most 200 characters at a time.")
    if is_placeholder(words):
        raise ReviewError("Those words are already a placeholder.")
    out = _copy(spans)
    # Whitespace in the selection matches any whitespace (a browser selection folds it).
    body = r"\s+".join(re.escape(w) for w in words.split(" "))
    left = r"(?<!\w)" if words[:1].isalnum() else ""
    right = r"(?!\w)" if words[-1:].isalnum() else ""
    pattern = re.compile(left + body + right, re.IGNORECASE)
    found = [
        m
        for m in pattern.finditer(text)
        if not any(_overlaps(m.start(), m.end(), s) for s in out if not s.get("undone"))
    ]
    if not found:
        raise ReviewError("Those words are not in the answer as given (or are already hidden).")
    word = REDACT_CATEGORIES[category]
    same = {
        _fold(str(s["original"])): str(s["placeholder"]) for s in out if s["category"] == category
    }
    used = {str(s["placeholder"]) for s in out if s["category"] == category}
    for m in found:
        original = m.group(0)
        placeholder = same.get(_fold(original))
        if placeholder is None:
            placeholder = _next_placeholder(word, used)
            used.add(placeholder)
            same[_fold(original)] = placeholder
        # An undone span over the same words is replaced, not doubled.
        out = [s for s in out if not (s.get("undone") and _overlaps(m.start(), m.end(), s))]
        out.append(
            {
                "start": m.start(),
                "end": m.end(),
                "category": category,
                "original": original,
                "placeholder": placeholder,
                "source": "reviewer",
                "accepted": True,
                "by": by,
                "at": at,
            }
        )
    return out, len(found)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _next_placeholder(word: str, used: set[str]) -> str:
    n = 1
    while True:
        candidate = f"[{word}]" if n == 1 else f"[{word} {n}]"
        if candidate not in used:
            return candidate
        n += 1
