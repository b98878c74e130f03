"""The learned reading of an answer: one embedding pass, three light heads.

``assess(text, ...) -> Assessment`` reads an answer with the sentence model once
(``embeddings.Encoder.read``) and applies three logistic-regression heads trained offline
(``bench/analysis/train.py``; weights in ``data/analysis_heads.npz``, nothing trained at
run time):

* **safeguarding recall net**: scores every sentence (and 16-word windows of long run-on
  sentences) in the context of the whole answer, with the context guards
  (``guards.py``) as extra features; the answer's score is its highest-scoring sentence.
  At or above the shipped threshold (chosen by cross-validation that leaves one writer out,
  ``meta["cv"]``) the answer is a *possible concern*. The lexicon
  (``disclosure.py``) stays the explainable hard flag; this net only ever adds;
* **sentiment**: negative / neutral / positive from the answer's embedding plus the rules'
  and VADER's readings;
* **priority**: the plan section the answer is about, from its embedding, the priority
  lexicon's scores and, when the answer replies to a priority question, that question's
  priority as a prior (open questions and proposals: text alone); ``none`` when nothing
  fits.

An answer not written in English is not read by the net at all: it is a possible concern
in the "not read automatically" lane (``language.py``).

Pure and deterministic; safe to call from a request or from a background job.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from surveys.analysis import embeddings, guards, language
from surveys.analysis import priorities as priority_lexicon
from surveys.analysis import sentiment as sentiment_rules

HEADS_FILE = Path(__file__).parent / "data" / "analysis_heads.npz"
NOT_READ = "not_read_automatically"  # the lane of answers the English models cannot read
WINDOW_WORDS, WINDOW_STEP, LONG_SENTENCE = 16, 8, 20  # chosen by cross-validation (train.py)

_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]*", re.UNICODE)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Assessment:
    """What the learned heads say about one answer."""

    concern: bool  # the recall net's "possible concern" (or not read automatically)
    score: float | None  # the net's probability for the highest-scoring sentence, 0..1
    categories: list[str] = field(default_factory=list)
    trigger: tuple[int, int] | None = None  # that sentence's span in the text
    lane: str | None = None  # NOT_READ when the text is not in English
    sentiment: str | None = None
    sentiment_score: float | None = None
    priority: str | None = None
    priority_confidence: float | None = None


class _Readings(TypedDict):
    """The sentiment and priority fields of an ``Assessment``, read before the concern."""

    sentiment: str
    sentiment_score: float
    priority: str
    priority_confidence: float


class HeadsMissing(RuntimeError):
    """The trained weights file is not where the package puts it."""


@dataclass(frozen=True)
class Heads:
    """The trained weights and the choices made by cross-validation at training."""

    sg_w: np.ndarray
    sg_b: float
    threshold: float
    cat_w: np.ndarray
    cat_b: np.ndarray
    categories: tuple[str, ...]
    sent_w: np.ndarray
    sent_b: np.ndarray
    sent_labels: tuple[str, ...]
    sent_features: tuple[str, ...]
    pri_w: np.ndarray
    pri_b: np.ndarray
    pri_labels: tuple[str, ...]
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = HEADS_FILE) -> Heads:
        """Read the weights file (plain arrays and a JSON string; no pickle)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise HeadsMissing(f"{path}: cannot read the analysis weights: {exc}") from exc
        meta = json.loads(str(arrays["meta"]))
        return cls(
            sg_w=arrays["sg_w"].astype(np.float32),
            sg_b=float(arrays["sg_b"]),
            threshold=float(meta["threshold"]),
            cat_w=arrays["cat_w"].astype(np.float32),
            cat_b=arrays["cat_b"].astype(np.float32),
            categories=tuple(meta["categories"]),
            sent_w=arrays["sent_w"].astype(np.float32),
            sent_b=arrays["sent_b"].astype(np.float32),
            sent_labels=tuple(meta["sent_labels"]),
            sent_features=tuple(meta["sent_features"]),
            pri_w=arrays["pri_w"].astype(np.float32),
            pri_b=arrays["pri_b"].astype(np.float32),
            pri_labels=tuple(meta["pri_labels"]),
            meta=meta,
        )


_lock = threading.Lock()
_heads: Heads | None = None


def heads() -> Heads:
    """Return the shipped heads, loaded once per process (thread-safe)."""
    global _heads
    if _heads is None:
        with _lock:
            if _heads is None:
                _heads = Heads.load()
    return _heads


# ---------------------------------------------------------------- features


def spans(text: str) -> list[tuple[int, int]]:
    """Return the spans the net scores: each sentence, and windows of long ones."""
    out: list[tuple[int, int]] = []
    for m in _SENTENCE.finditer(text):
        words = list(_WORD.finditer(m.group()))
        if not words:
            continue
        base = m.start()
        out.append((base + words[0].start(), base + words[-1].end()))
        if len(words) > LONG_SENTENCE:
            last = len(words) - WINDOW_WORDS
            starts = list(range(0, last + 1, WINDOW_STEP))
            if starts[-1] != last:
                starts.append(last)  # the tail always gets a window of its own
            for i in starts:
                out.append((base + words[i].start(), base + words[i + WINDOW_WORDS - 1].end()))
    return out


def segment_features(text: str, reading: embeddings.Reading) -> np.ndarray:
    """Return one row per scored span (the whole answer first): embedding + guard cues."""
    vecs = [reading.whole, *reading.spans]
    bounds = [(0, len(text)), *reading.span_bounds]
    whole = guards.context(text)
    cues = [guards.features(text[s:e], whole) for s, e in bounds]
    return np.hstack([np.stack(vecs), np.stack(cues)]).astype(np.float32)


SENTIMENT_RULES = ("_lex", "_lexpos", "_lexneg", "_mixed", "_neg", "_vader", "_vpos", "_vneg")


def sentiment_features(text: str, reading: embeddings.Reading) -> np.ndarray:
    """Return the sentiment head's input: the embedding and the rules' readings."""
    f = sentiment_rules.rule_features(text)
    return np.concatenate([reading.whole, np.array([f[k] for k in SENTIMENT_RULES])]).astype(
        np.float32
    )


def priority_features(
    text: str, reading: embeddings.Reading, question_priority: str | None, keys: Sequence[str]
) -> np.ndarray:
    """Return the priority head's input: embedding, lexicon evidence and the question's prior.

    ``keys`` are the priorities the head was trained on (a local priority added to the
    banks later is left to the lexicon engine).
    """
    scores = priority_lexicon.classify(text).scores
    lex = np.array([scores.get(k, 0.0) for k in keys], dtype=np.float32)
    lex = lex / (1.0 + lex)
    prior = np.array([k == question_priority for k in keys], dtype=np.float32)
    return np.concatenate([reading.whole, lex, prior]).astype(np.float32)


def prior_for(question_priority: str | None, question_id: str | None = None) -> str | None:
    """Return the priority to use as a prior: a priority question's own, never ``general``."""
    if question_id and question_id.startswith("general."):
        return None
    if question_priority in (None, "", "general", priority_lexicon.NONE):
        return None
    return question_priority


# ---------------------------------------------------------------- scoring


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def assess_many(
    texts: Sequence[str],
    *,
    question_priorities: Sequence[str | None] | None = None,
    question_ids: Sequence[str | None] | None = None,
) -> list[Assessment]:
    """Assess many answers with one batched pass of the sentence model."""
    h = heads()
    texts = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
    n = len(texts)
    qp = list(question_priorities) if question_priorities is not None else [None] * n
    qi = list(question_ids) if question_ids is not None else [None] * n
    english = [language.is_english(t) for t in texts]
    # Text the model cannot read is not embedded at all (it costs, and says nothing).
    read = [i for i, t in enumerate(texts) if english[i] and t.strip()]
    readings = embeddings.encoder().read([texts[i] for i in read], [spans(texts[i]) for i in read])
    by_index = dict(zip(read, readings, strict=True))
    out = []
    for i, text in enumerate(texts):
        reading = by_index.get(i)
        if reading is None:
            out.append(_unread(text, english[i]))
        else:
            out.append(_assess_one(h, text, reading, prior_for(qp[i], qi[i])))
    return out


def _unread(text: str, english: bool) -> Assessment:
    if english:  # empty or blank: nothing to read, nothing to worry about
        return Assessment(
            False,
            None,
            sentiment="neutral",
            sentiment_score=0.0,
            priority=priority_lexicon.NONE,
            priority_confidence=1.0,
        )
    return Assessment(True, None, [], None, NOT_READ)


def assess(
    text: str, *, question_priority: str | None = None, question_id: str | None = None
) -> Assessment:
    """Assess one answer: possible concern, sentiment and priority from one reading."""
    return assess_many([text], question_priorities=[question_priority], question_ids=[question_id])[
        0
    ]


def _assess_one(h: Heads, text: str, reading: embeddings.Reading, prior: str | None) -> Assessment:
    sp = _softmax(sentiment_features(text, reading) @ h.sent_w + h.sent_b)
    s_label = h.sent_labels[int(sp.argmax())]
    s_score = float(sp[h.sent_labels.index("positive")] - sp[h.sent_labels.index("negative")])
    keys = h.pri_labels[:-1]  # ``none`` is last
    pp = _softmax(priority_features(text, reading, prior, keys) @ h.pri_w + h.pri_b)
    p_label = h.pri_labels[int(pp.argmax())]
    common: _Readings = {
        "sentiment": s_label,
        "sentiment_score": round(s_score, 4),
        "priority": p_label,
        "priority_confidence": round(float(pp.max()), 3),
    }
    x = segment_features(text, reading)
    probs = _sigmoid(x @ h.sg_w + h.sg_b)
    best = int(probs.argmax())
    score = float(probs[best])
    bounds = [(0, len(text)), *reading.span_bounds]
    if best == 0 and len(probs) > 1:  # point at a sentence, not the whole answer
        best = 1 + int(probs[1:].argmax())
    concern = score >= h.threshold
    cats: list[str] = []
    if concern:
        cp = _sigmoid(x[best] @ h.cat_w + h.cat_b)
        cats = [c for c, p in zip(h.categories, cp, strict=True) if p >= 0.5]
        if not cats:
            cats = [h.categories[int(cp.argmax())]]
    return Assessment(concern, round(score, 4), cats, bounds[best], None, **common)
