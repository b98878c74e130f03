"""The learned reading of an answer: one embedding pass, three light heads.

``assess(text, ...) -> Assessment`` reads an answer with the sentence model once
(``embeddings.Encoder.read``) and applies three logistic-regression heads trained offline
(``bench/analysis/train.py``; weights in ``data/analysis_heads.npz``, nothing trained at
run time):

* **safeguarding recall net**: scores every sentence (and 16-word windows of long run-on
  sentences) in the context of the whole answer, with the context guards (``guards.py``)
  and the span's own words and word pairs (hashed: slang the sentence model splits into
  pieces keeps its weight) as extra features; the answer's evidence is its highest-scoring
  sentence. To that it adds its **neighbours' evidence**: how much closer the answer's
  closest sentence sits to the nearest known disclosures than to the nearest known
  non-disclosures (``neighbour_margins``, over the training answers' embeddings shipped in
  the weights file, with real tweets among the non-disclosures so that ordinary text far
  from our writers' topics does not drift towards a disclosure). A linear head draws one
  boundary; the neighbours recognise a disclosure phrased like one it has seen without
  keywords, which is what the head missed (out of fold, leaving one writer out: recall
  0.873 -> 0.934 at the same false alarms, ``bench/analysis/train.py``). At or above the
  shipped threshold (chosen by that cross-validation, ``meta["cv"]``) the answer is a
  *possible concern*. The lexicon (``disclosure.py``) stays the explainable hard flag;
  this net only ever adds;
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

import itertools
import json
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from surveys.analysis import disclosure, embeddings, guards, language
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
    # Neighbours: unit embeddings of training disclosures (each answer and its
    # top-scoring sentence) and of every sentence of training non-disclosures and of
    # real tweets.
    nn_pos: np.ndarray = field(default_factory=lambda: np.zeros((0, embeddings.DIM), np.float32))
    nn_neg: np.ndarray = field(default_factory=lambda: np.zeros((0, embeddings.DIM), np.float32))
    nn_k: int = 5  # neighbours averaged on each side
    nn_beta: float = 0.0  # weight of the neighbours' margin against the head's log-odds
    # Hashed word n-grams after the embedding and the guards (0: a file without them).
    ngram_dim: int = 0
    # The priority head for answers that came with no question at all (an imported or
    # pasted answer), trained on text alone; None in a file without one. Answers to open
    # questions keep the main head: out of fold it reads them better (train.py).
    pri_text_w: np.ndarray | None = None
    pri_text_b: np.ndarray | None = None

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
            # Stored as float16 (half the file); products run in float32. A file from
            # before the neighbours (no banks) reads as the net alone.
            nn_pos=_bank(arrays.get("nn_pos")),
            nn_neg=_bank(arrays.get("nn_neg")),
            pri_text_w=_optional(arrays.get("pri_text_w")),
            pri_text_b=_optional(arrays.get("pri_text_b")),
            nn_k=int(meta.get("nn_k", 5)),
            nn_beta=float(meta.get("nn_beta", 0.0)),
            ngram_dim=int(meta.get("ngram_dim", 0)),
        )


def _optional(stored: np.ndarray | None) -> np.ndarray | None:
    """Return an optional array as float32, or None when the file has none."""
    return None if stored is None else stored.astype(np.float32)


def _bank(stored: np.ndarray | None) -> np.ndarray:
    """Return a neighbour bank as float32 rows whose transpose is contiguous in memory.

    ``vecs @ bank.T`` then reads the bank in its own order: twice as fast for the few
    rows of one answer (measured 3.9 against 7.1 ms for 4 rows), a tenth for many.
    """
    if stored is None:
        return np.zeros((0, embeddings.DIM), dtype=np.float32)
    return np.ascontiguousarray(stored.astype(np.float32).T).T


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


def segment_features(text: str, reading: embeddings.Reading, ngram_dim: int = 0) -> np.ndarray:
    """Return one row per scored span (the whole answer first): embedding + guard cues
    (+ hashed word n-grams when ``ngram_dim``)."""
    vecs = [reading.whole, *reading.spans]
    bounds = [(0, len(text)), *reading.span_bounds]
    parts = [np.stack(vecs), guards.span_features(text, bounds)]
    if ngram_dim:
        parts.append(np.stack([word_grams(text[s:e], ngram_dim) for s, e in bounds]))
    return np.hstack(parts).astype(np.float32)


_TOKEN = re.compile(r"[a-z0-9]+")
NGRAM_WEIGHT = 1.0  # the value of a present n-gram (chosen by cross-validation, train.py)


def word_grams(segment: str, dim: int) -> np.ndarray:
    """Return the words and word pairs of a span, hashed into ``dim`` slots (present or not).

    What the sentence model reads past: slang and text-speak split into word pieces
    ("od'd", "tooled up", "on the line") keep their own weight here. Read after the
    lexicon's normalising (lower case, no apostrophes, "soooo" -> "soo"); CRC-32, so the
    slots are the same in every process.
    """
    out = np.zeros(dim, dtype=np.float32)
    words = _TOKEN.findall(disclosure.normalise(segment)[0])
    for gram in (*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))):
        out[zlib.crc32(gram.encode()) % dim] = NGRAM_WEIGHT
    return out


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


NN_ROWS = 256  # rows per product with a neighbour bank (bounds the similarity matrix)
NN_BLOCK = 64  # bank columns per block when looking for the nearest (see _top_mean)


def neighbour_margins(vecs: np.ndarray, pos: np.ndarray, neg: np.ndarray, k: int) -> np.ndarray:
    """Return, per unit vector, its mean similarity to its ``k`` nearest ``pos`` rows minus
    the same to its ``k`` nearest ``neg`` rows (positive: it sits among disclosures)."""
    out = np.zeros(len(vecs), dtype=np.float32)
    if not len(vecs) or not len(pos) or not len(neg):
        return out
    for a in range(0, len(vecs), NN_ROWS):
        v = vecs[a : a + NN_ROWS, : embeddings.DIM]
        out[a : a + NN_ROWS] = _top_mean(v @ pos.T, k) - _top_mean(v @ neg.T, k)
    return out


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Return the mean of each row's ``k`` largest values.

    A full partition of every row costs as much as the product that made it. The ``k``
    largest values lie in at most ``k`` blocks, and those blocks are among the ``k`` with
    the largest maxima; so only those blocks (and the columns left over) are partitioned.
    Block ``j`` holds the columns ``j``, ``j + nb``, ``j + 2 nb``, ... (any partition of
    the columns will do): its maximum is then an elementwise maximum of contiguous runs,
    which numpy vectorises, and not a reduction of short runs (a third of the time, with
    the same result).
    """
    rows, n = sims.shape
    k = min(k, n)
    nb = n // NN_BLOCK
    if nb <= 4 * k:  # small bank: partition it all
        return np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)
    whole = nb * NN_BLOCK
    blocks = sims[:, :whole].reshape(rows, NN_BLOCK, nb)
    best = np.argpartition(blocks.max(axis=1), -k, axis=1)[:, -k:]
    cand = np.take_along_axis(blocks, best[:, None, :], axis=2).reshape(rows, NN_BLOCK * k)
    cand = np.hstack([cand, sims[:, whole:]])
    return np.partition(cand, -k, axis=1)[:, -k:].mean(axis=1)


def answer_margins(
    feats: Sequence[np.ndarray], pos: np.ndarray, neg: np.ndarray, k: int
) -> list[np.ndarray]:
    """Return the neighbours' margin of every span of each answer (its
    ``segment_features`` rows), all answers' spans in a few large products."""
    if not feats:
        return []
    flat = neighbour_margins(np.vstack(feats), pos, neg, k)
    return np.split(flat, np.cumsum([len(f) for f in feats])[:-1])


def concern_score(logits: np.ndarray, margins: np.ndarray, beta: float) -> tuple[float, int]:
    """Return an answer's possible-concern score and the span that carries it.

    ``logits``: the net's log-odds per span (the whole answer first); ``margins``: the
    neighbours' margin per span. The score adds the strongest of each; the span pointed at
    is a sentence (not the whole answer) where there is one.
    """
    score = float(_sigmoid(np.array(logits.max() + beta * margins.max())))
    per_span = logits + beta * margins
    best = 1 + int(per_span[1:].argmax()) if len(per_span) > 1 else 0
    return score, best


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
    feats = [
        segment_features(texts[i], r, h.ngram_dim) for i, r in zip(read, readings, strict=True)
    ]
    margins = answer_margins(feats, h.nn_pos, h.nn_neg, h.nn_k)
    by_index = {i: (r, f, m) for i, r, f, m in zip(read, readings, feats, margins, strict=True)}
    out = []
    for i, text in enumerate(texts):
        got = by_index.get(i)
        if got is None:
            out.append(_unread(text, english[i]))
        else:
            asked = qp[i] is not None or qi[i] is not None
            out.append(_assess_one(h, text, *got, prior_for(qp[i], qi[i]), asked))
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


def _assess_one(
    h: Heads,
    text: str,
    reading: embeddings.Reading,
    x: np.ndarray,
    margins: np.ndarray,
    prior: str | None,
    asked: bool,
) -> Assessment:
    sp = _softmax(sentiment_features(text, reading) @ h.sent_w + h.sent_b)
    s_label = h.sent_labels[int(sp.argmax())]
    s_score = float(sp[h.sent_labels.index("positive")] - sp[h.sent_labels.index("negative")])
    keys = h.pri_labels[:-1]  # ``none`` is last
    w, b = (h.pri_w, h.pri_b)
    if not asked and h.pri_text_w is not None and h.pri_text_b is not None:
        w, b = h.pri_text_w, h.pri_text_b
    pp = _softmax(priority_features(text, reading, prior, keys) @ w + b)
    p_label = h.pri_labels[int(pp.argmax())]
    common: _Readings = {
        "sentiment": s_label,
        "sentiment_score": round(s_score, 4),
        "priority": p_label,
        "priority_confidence": round(float(pp.max()), 3),
    }
    score, best = concern_score(x @ h.sg_w + h.sg_b, margins, h.nn_beta)
    bounds = [(0, len(text)), *reading.span_bounds]
    concern = score >= h.threshold
    cats: list[str] = []
    if concern:
        cp = _sigmoid(x[best] @ h.cat_w + h.cat_b)
        cats = [c for c, p in zip(h.categories, cp, strict=True) if p >= 0.5]
        if not cats:
            cats = [h.categories[int(cp.argmax())]]
    return Assessment(concern, round(score, 4), cats, bounds[best], None, **common)
