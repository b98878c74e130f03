"""What redaction returns: the spans replaced, their categories and placeholders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Every category this module emits, and its placeholder word.
CATEGORIES: dict[str, str] = {
    "name": "name",
    "school": "school",
    "place": "place",
    "address": "address",
    "postcode": "postcode",
    "phone": "phone",
    "email": "email",
    "handle": "handle",
    "url": "link",
    "date": "date",
    "id": "id",
}


@dataclass(frozen=True)
class Span:
    """One replaced stretch of the original text."""

    start: int
    end: int
    category: str
    original: str
    placeholder: str


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the spans that were replaced, in text order."""

    text: str
    spans: list[Span] = field(default_factory=list)


def apply_spans(original: str, spans: Iterable[Span]) -> str:
    """Replace the chosen spans of ``original`` by their placeholders.

    The review UI calls this with the spans a reviewer kept, to undo some
    replacements (or re-apply them) without running detection again.
    """
    out: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos or span.end > len(original):
            raise ValueError("spans overlap or fall outside the text")
        out.append(original[pos : span.start])
        out.append(span.placeholder)
        pos = span.end
    out.append(original[pos:])
    return "".join(out)


def to_json(redaction: Redaction) -> dict[str, Any]:
    """Return the CLI's JSON shape for one redaction."""
    return {
        "text": redaction.text,
        "spans": [
            {
                "start": s.start,
                "end": s.end,
                "category": s.category,
                "original": s.original,
                "placeholder": s.placeholder,
            }
            for s in redaction.spans
        ],
    }
