"""Words of an answer with their positions, capitals and what stands before them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


@dataclass
class Token:
    """A word of the answer with its position and how it was written."""

    start: int
    end: int
    text: str
    low: str
    cap: bool
    initial: bool


def tokenise(text: str) -> list[Token]:
    """Return the words of a text with their positions and capitals."""
    toks = []
    for m in _TOKEN.finditer(text):
        s = m.group()
        j = m.start() - 1
        while j >= 0 and text[j] in " \t\"'“‘(*[-":
            j -= 1
        initial = j < 0 or text[j] in ".!?\n\r:;…"
        low = s.replace("’", "'").lower()
        toks.append(Token(m.start(), m.end(), s, low, s[0].isupper(), initial))
    return toks


def caps_unreliable(toks: Sequence[Token]) -> bool:
    """Return True when capitals say nothing (an answer in capitals or in title case)."""
    words = [t for t in toks if len(t.text) > 1]
    if len(words) < 4:
        return False
    upper = sum(t.text.isupper() for t in words)
    capped = sum(t.cap for t in words)
    return upper >= 0.6 * len(words) or capped >= 0.7 * len(words)


def strip_possessive(tok: Token) -> tuple[str, int]:
    """Return the token's lower form and end without a trailing 's."""
    if tok.low.endswith("'s") and len(tok.low) > 3:
        return tok.low[:-2], tok.end - 2
    return tok.low, tok.end


def is_acronym(word: str) -> bool:
    """Return True for a word written as an acronym ("YOT", "PC"), not a name."""
    if "'" in word or "’" in word or "-" in word:
        return False  # O'Neill, Kai-Leigh
    upper = sum(ch.isupper() for ch in word)
    return upper >= 2 and (upper * 2 > len(word) or word[:2].isupper())


def adjacent(text: str, a: Token, b: Token) -> bool:
    """Whether b follows a with only a space or two between them."""
    gap = b.start - a.end
    return 0 < gap <= 2 and not text[a.end : b.start].strip()
