"""Resolution: which candidate spans win, and their placeholders ("[name]", "[name 2]")."""

from __future__ import annotations

from surveys.analysis.redact.candidates import PRIORITY, Candidate
from surveys.analysis.redact.config import Compiled, norm_phrase
from surveys.analysis.redact.spans import CATEGORIES, Span


def choose(cands: list[Candidate], text: str, comp: Compiled) -> list[Candidate]:
    """Return the candidates that win, in text order: the lower rank, then the longer, wins
    an overlap; deny-listed phrases join in, allow-listed ones keep their words."""
    protected: list[tuple[int, int]] = []
    if comp.allow_re is not None:
        protected = [m.span() for m in comp.allow_re.finditer(text)]
    if comp.deny_re is not None:
        for m in comp.deny_re.finditer(text):
            category = comp.deny_category.get(norm_phrase(m.group()), "name")
            cands.append(Candidate(m.start(), m.end(), category, PRIORITY["deny"]))
    cands.sort(key=lambda c: (c.rank, -(c.end - c.start), c.start))
    # Byte masks keep this linear on very long answers.
    allowed = bytearray(len(text) + 1)
    for s, e in protected:
        allowed[s:e] = b"\x01" * (e - s)
    used = bytearray(len(text) + 1)
    deny_rank = PRIORITY["deny"]
    chosen: list[Candidate] = []
    for cand in cands:
        if cand.rank != deny_rank and all(allowed[cand.start : cand.end]):
            continue
        if any(used[cand.start : cand.end]):
            continue
        used[cand.start : cand.end] = b"\x01" * (cand.end - cand.start)
        chosen.append(cand)
    chosen.sort(key=lambda c: c.start)
    return chosen


def _key(original: str) -> str:
    key = norm_phrase(original)
    if key.startswith("the "):
        key = key[4:]
    if key.endswith("'s"):
        key = key[:-2]
    if not any(ch.isalpha() for ch in key):
        key = "".join(ch for ch in key if ch.isalnum())
    return key


def numbered_spans(chosen: list[Candidate], text: str) -> list[Span]:
    """Return the chosen candidates as spans, numbered per category within the answer."""
    numbering: dict[str, dict[str, int]] = {}
    out: list[Span] = []
    for cand in chosen:
        original = text[cand.start : cand.end]
        seen = numbering.setdefault(cand.category, {})
        number = seen.setdefault(_key(original), len(seen) + 1)
        word = CATEGORIES[cand.category]
        placeholder = f"[{word}]" if number == 1 else f"[{word} {number}]"
        out.append(Span(cand.start, cand.end, cand.category, original, placeholder))
    return out
