"""Mapping a file's question wordings to questions: an existing one, a new local question
under a priority, or none (the column is not imported).

A file may word its questions any way: a paper questionnaire's, last year's Microsoft Form's,
a published plan's ("What do you think of the police in Medway?"). Each distinct wording (a
column of a wide file) is a ``Wording``; the lead's ``Choices`` say where each goes, and
``suggest`` offers the closest question of the round: its id or exact wording (in any case,
with any punctuation), else the nearest in meaning (sentence embeddings, when the model is
installed) or in words. Pure: questions in, suggestions out.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from surveys.core.catalogue import DEFAULT_MAX_LENGTH, Question
from surveys.core.vocabulary import ENGLISH
from surveys.services.importer.files import fold

log = logging.getLogger(__name__)

QUESTION, NEW, SKIP = "question", "new", "skip"
#: A suggestion must be at least this close to be offered at all ...
SUGGEST_AT = {"meaning": 0.6, "words": 0.5}
#: ... and this close to be chosen for the lead before they look (else a new question is).
CHOOSE_AT = {"meaning": 0.8, "words": 0.75}
#: A new question takes answers this long at most (the catalogue's limit).
MAX_NEW_LENGTH = 10_000
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in
    is it its me my of on or our should so that the their them there they this to was we were
    what when where which who why will with would you your yours think""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Target:
    """Where a wording's answers go: a question, a new local question, or nowhere."""

    kind: str  # QUESTION, NEW or SKIP
    question_id: str | None = None
    priority: str | None = None  # NEW: the priority to put it under (None: the wording's)

    def __post_init__(self) -> None:
        if self.kind not in (QUESTION, NEW, SKIP):
            raise ValueError(f"unknown mapping {self.kind!r}")
        if self.kind == QUESTION and not self.question_id:
            raise ValueError("a question mapping needs the question's id")

    @classmethod
    def parse(cls, value: Any) -> Target:
        """Read a mapping file's entry: ``new``, ``new: priority``, ``skip`` or a question id.

        Raises ValueError with a message for the lead.
        """
        if isinstance(value, Mapping) and set(value) == {"new"}:
            prio = value["new"]
            if prio is not None and not isinstance(prio, str):
                raise ValueError("'new:' takes a priority key, e.g. new: policing")
            return cls(NEW, priority=prio or None)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                "each wording maps to a question id, 'new', 'new: <priority>' or 'skip'"
            )
        word = value.strip()
        if word.casefold() == NEW:
            return cls(NEW)
        if word.casefold() == SKIP:
            return cls(SKIP)
        if word.casefold().startswith("new:"):
            return cls(NEW, priority=word[4:].strip() or None)
        return cls(QUESTION, question_id=word)

    def __str__(self) -> str:
        if self.kind == QUESTION:
            return str(self.question_id)
        if self.kind == NEW:
            return f"new: {self.priority}" if self.priority else NEW
        return SKIP


@dataclass(frozen=True)
class Suggestion:
    """The question closest to a wording, and how close."""

    question_id: str
    score: float  # 1.0 when exact
    how: str  # id | wording (exact), meaning | words (closest)
    fits: bool = True  # False: the answers are not the question's options (written answers)

    @property
    def exact(self) -> bool:
        """Return True for the question's id or its wording, in any case and punctuation."""
        return self.how in ("id", "wording")

    @property
    def chosen(self) -> bool:
        """Return True when it is close enough to be chosen before the lead looks."""
        return self.fits and (self.exact or self.score >= CHOOSE_AT.get(self.how, 1.1))

    @property
    def percent(self) -> int:
        """Return the closeness as a whole percentage, for the page."""
        return round(self.score * 100)


@dataclass(frozen=True)
class Wording:
    """A question as the file words it (a column of a wide file), and where it goes."""

    key: str  # stable for the file: the mapping form's field name
    text: str  # as the file writes it, the first time
    priority: str | None  # the priority the file files it under (long layout), if any
    column: int | None  # wide layout: its column
    audiences: tuple[str, ...]  # who answered it
    answers: int  # answers to import (filled cells)
    first_row: int
    longest: int  # the longest answer, in characters
    suggestion: Suggestion | None = None
    target: Target | None = None  # what it maps to (None: not mapped yet)
    new_priority: str | None = None  # where a new question would go by default

    @property
    def mapped(self) -> bool:
        """Return True once the wording has somewhere to go (or is left out on purpose)."""
        return self.target is not None


@dataclass(frozen=True)
class NewQuestion:
    """A local question the import will create, for a wording no question has."""

    key: str  # the wording's key
    priority: str
    text: str
    audiences: tuple[str, ...]
    longest: int

    def spec(self) -> dict[str, Any]:
        """Return the question as the question builder takes it (never asked: answers only)."""
        return {
            "type": "text",
            "text": {a: {ENGLISH: self.text} for a in self.audiences},
            "max_length": max(DEFAULT_MAX_LENGTH, min(self.longest, MAX_NEW_LENGTH)),
        }


@dataclass(frozen=True)
class Choices:
    """What the lead chose for a file: per wording, and for the rest.

    ``targets`` is keyed by a wording's key (the workbench's form) or by its folded text
    (a mapping file: ``fold(text)``). A wording not named there goes to its exact match;
    else, with ``suggestions``, to a close enough suggestion; else, with ``new_questions``,
    to a new local question under the wording's priority (the file's, else ``priority``,
    else the priority its words are about); else it is unmapped, a problem to fix.
    """

    targets: Mapping[str, Target] = field(default_factory=dict)
    priority: str | None = None
    audience: str | None = None  # every row's, when the file has no audience column
    new_questions: bool = False
    suggestions: bool = False

    def target_for(self, key: str, text: str) -> Target | None:
        """Return the target chosen for a wording by its key or its words, if any."""
        return self.targets.get(key) or self.targets.get(fold(text))


def wording_key(text: str, priority: str | None, column: int | None) -> str:
    """Return a short stable key for a wording (a wide file's column is its own)."""
    raw = f"c{column}" if column is not None else f"{priority or ''}\x1f{fold(text)}"
    return "w" + hashlib.sha256(raw.encode()).hexdigest()[:12]


# ---- closeness -------------------------------------------------------------------------------
def content_words(text: str) -> frozenset[str]:
    """Return a wording's words that carry meaning (no stop words; plural s dropped)."""
    out = set()
    for w in _WORD.findall(fold(text).replace("\u2019", "'")):
        w = w.strip("'")
        if not w or w in _STOP:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return frozenset(out)


def word_overlap(a: str, b: str) -> float:
    """Return how many meaningful words two wordings share (Dice coefficient, 0 to 1)."""
    x, y = content_words(a), content_words(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


class _Meaning:
    """Sentence embeddings of wordings, kept per process (questions are few and short)."""

    def __init__(self) -> None:
        self._vectors: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._available: bool | None = None

    def available(self) -> bool:
        if self._available is None:
            try:
                from surveys.analysis import embeddings

                embeddings.model_dir()
                self._available = True
            except Exception:  # the model is optional: word overlap still suggests
                self._available = False
        return self._available

    def vectors(self, texts: Sequence[str]) -> list[Any]:
        from surveys.analysis import embeddings

        with self._lock:
            todo = sorted({t for t in texts if t not in self._vectors})
            if todo:
                for text, vec in zip(todo, embeddings.embed(todo), strict=True):
                    self._vectors[text] = vec
                if len(self._vectors) > 20_000:  # a process importing forever: start again
                    self._vectors = {t: self._vectors[t] for t in texts}
            return [self._vectors[t] for t in texts]


_meaning = _Meaning()


def closest(
    texts: Sequence[str], candidates: Sequence[Question], *, use_meaning: bool = True
) -> list[Suggestion | None]:
    """Return, for each wording, the closest candidate question if it is close enough."""
    if not texts:
        return []
    if not candidates:
        return [None] * len(texts)
    wordings = [_english(q) for q in candidates]
    meaning = use_meaning and _meaning.available()
    out: list[Suggestion | None] = []
    if meaning:
        try:
            import numpy as np

            qs = np.stack(_meaning.vectors(wordings))
            fs = np.stack(_meaning.vectors(list(texts)))
            scores = fs @ qs.T
        except Exception:  # a broken model install: fall back to words, and say so once
            log.exception("sentence embeddings failed; suggesting by shared words")
            meaning = False
    for i, text in enumerate(texts):
        if meaning:
            j = int(scores[i].argmax())
            score, how = float(scores[i][j]), "meaning"
        else:
            overlaps = [word_overlap(text, w) for w in wordings]
            j = max(range(len(overlaps)), key=overlaps.__getitem__)
            score, how = overlaps[j], "words"
        out.append(
            Suggestion(candidates[j].id, round(score, 3), how) if score >= SUGGEST_AT[how] else None
        )
    return out


def _english(q: Question) -> str:
    return next(iter(q.texts.values()), q.id)


def audiences_fit(q: Question, audiences: Iterable[str]) -> bool:
    """Return True when a question is asked of every one of these audiences."""
    return all(q.text_for(a) is not None for a in audiences)
