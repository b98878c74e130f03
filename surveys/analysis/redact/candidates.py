"""Candidate spans, ranked: every detector adds them, ``resolve`` picks among them."""

from __future__ import annotations

from dataclasses import dataclass

# Lower number wins when candidate spans overlap (then the longer one).
PRIORITY = {
    "email": 0,
    "url": 1,
    "handle": 2,
    "id_strong": 3,
    "phone": 4,
    "id": 5,
    "date": 6,
    "postcode": 7,
    "deny": 8,
    "school": 9,
    "address": 10,
    "place": 11,
    "name": 12,
}


@dataclass
class Candidate:
    """A stretch of text a detector thinks identifying, with its rank."""

    start: int
    end: int
    category: str
    rank: int


def add(
    cands: list[Candidate], start: int, end: int, category: str, rank_key: str | None = None
) -> None:
    """Add a candidate span (an empty one is dropped)."""
    if end > start:
        cands.append(Candidate(start, end, category, PRIORITY[rank_key or category]))
