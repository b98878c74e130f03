"""Read the sentiment of a short answer: positive, neutral or negative, with a score.

Engines behind one function, :func:`score`:

* ``best``     - the engine we recommend for young people's answers; today the ``lexicon``
  rules (chosen on the invented youth hold-out set, see docs/benchmarks-analysis-tags.md);
* ``lexicon``  - VADER-style rules over VADER's lexicon plus a youth / UK-slang extension
  (``data/sentiment_slang.yaml``): phrases ("not bad", "does my head in"), context-dependent
  words ("bare long", "dead good", "it was dead"), intensifiers, negation within three
  words, requests that are proposals rather than praise ("more youth clubs", "they should
  listen more"), and mixed answers ("the police were nice but the cell was horrible") that
  come out neutral with ``mixed=True`` rather than strongly one way;
* ``trained``  - a small logistic-regression layer over our rules' readings plus VADER's and
  TextBlob's scores (``data/sentiment_model.json``), trained only on public human-rated
  sets (Hutto & Gilbert 2014, TweetEval val; ``bench/analysis/sentiment.py``). Better on
  adult-style text (tweets, editorials); falls back to ``lexicon`` without the weights file;
* ``vader``    - stock VADER 3.3.2 (Hutto & Gilbert 2014), a peer;
* ``textblob`` - TextBlob's pattern lexicon (the brief's named default), a peer.

The rules are pure Python, loaded lazily once per process; a short answer costs tens of
microseconds. :func:`train` (numpy, used by the benchmark) refits the trained layer.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
SLANG_FILE = DATA_DIR / "sentiment_slang.yaml"
MODEL_FILE = DATA_DIR / "sentiment_model.json"
ENGINES: tuple[str, ...] = ("best", "lexicon", "trained", "vader", "textblob")
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: Engine-specific default neutral bands on the score (|score| <= band -> neutral).
DEFAULT_BANDS: dict[str, float] = {"textblob": 0.05, "vader": 0.05, "lexicon": 0.2, "best": 0.2}
MAX_CHARS = 10_000  # longer answers are scored on their first 10,000 characters

_B_CAPS = 0.733  # VADER's empirically derived boost for a word in CAPITALS
_N_SCALAR = -0.74  # VADER's negation factor
_ALPHA = 15.0  # VADER's normalisation constant
_CONTRAST_BEFORE, _CONTRAST_AFTER = 0.5, 1.5
_MIXED_MIN, _MIXED_RATIO, _MIXED_DAMP = 1.0, 0.5, 0.25


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FILLERS = _wordset(
    """
    innit man bruv mate tbh fr ngl lol lmao though tho honestly tbf init fam bro
    """
)
_BOUNDARY = "|"
_STRONG_CONTRAST = frozenset({"but", "however", "except", "yet"})

# A token is: an emoticon, a word (apostrophes inside kept for now), a run of !, or a
# clause break. Emoji are matched one code point at a time after normalisation.
_TOKEN_RE = re.compile(
    r"(?P<emo>(?<!\S)(?:[:;=][-']?[()dDpP/|\\]|<3|[xX][dD])(?![\w]))"
    r"|(?P<word>[^\W_]+(?:['’][^\W_]+)*)"
    r"|(?P<bang>!+)"
    r"|(?P<brk>[.;?\n\r,]+|\s-\s)"
    r"|(?P<pict>[\u2600-\u27bf\U0001F000-\U0001FAFF])"
)
_SQUEEZE_RE = re.compile(r"(\w)\1{2,}")
_DROP_RE = re.compile("[\ufe0f\ufe0e\u200d\U0001f3fb-\U0001f3ff]")


class SlangError(ValueError):
    """The slang lexicon file breaks a rule; the message names the file and entry."""


@dataclass(frozen=True)
class Sentiment:
    """A sentiment label (positive / neutral / negative) and a score in [-1, 1]."""

    label: str
    score: float
    mixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {"label": self.label, "score": self.score, "mixed": self.mixed}


@dataclass(frozen=True)
class _Lexicon:
    words: Mapping[str, float]
    phrases: Mapping[str, tuple[tuple[tuple[str, ...], float], ...]]  # first word -> longest 1st
    after: Mapping[str, tuple[float, frozenset[str]]]
    clause_final: Mapping[str, float]
    booster_words: Mapping[str, float]  # contextual words that boost a following scored word
    boosters: Mapping[str, float]
    negators: frozenset[str]
    spellings: Mapping[str, str]
    contrast: frozenset[str]
    requests: frozenset[str]
    request_openers: frozenset[str]
    request_damp: float
    emoji: Mapping[str, float]
    own: frozenset[str]  # words whose meaning the slang file decides (kept out of n-grams)


@dataclass(frozen=True)
class _Reading:
    """What the rules found in one text: the raw material of the score and the features."""

    tokens: tuple[str, ...]
    total: float
    pos_mass: float
    neg_mass: float
    mixed: bool
    negations: int
    compound: float


# ---------------------------------------------------------------- loading


def _vader_dir() -> Path:
    import vaderSentiment  # shipped lexicon files live next to the module

    return Path(vaderSentiment.__file__).parent


def _number(file: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SlangError(f"{file}: {where} must be a number, not {value!r}")
    if not -4.0 <= float(value) <= 4.0:
        raise SlangError(f"{file}: {where} must lie between -4 and 4")
    return float(value)


def _damp(file: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise SlangError(f"{file}: request_damp must be a number from 0 to 1")
    return float(value)


def _mapping(file: str, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise SlangError(f"{file}: '{key}' must be a mapping")
    for k in value:
        if not isinstance(k, str | int | float) or isinstance(k, bool):
            raise SlangError(f"{file}: {key}: write yes/no/on/off/true/false in quotes ({k!r})")
    return value


def _word_list(file: str, raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise SlangError(f"{file}: '{key}' must be a list of words (quote yes/no/on/off)")
    return [w.lower() for w in value]


def load_lexicon(path: Path | str | None = None) -> _Lexicon:
    """Load VADER's lexicon and overlay a slang file (default: the packaged one)."""
    path = Path(path) if path else SLANG_FILE
    file = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise SlangError(f"{file}: cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise SlangError(f"{file}: must be a mapping")
    known = {
        "words",
        "phrases",
        "contextual",
        "boosters",
        "negators",
        "spellings",
        "contrast",
        "emoji",
        "requests",
        "request_openers",
        "request_damp",
    }
    unknown = set(raw) - known
    if unknown:
        raise SlangError(f"{file}: unknown sections {sorted(unknown)}")

    words: dict[str, float] = {}
    with (_vader_dir() / "vader_lexicon.txt").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split("\t", 2)
            if len(parts) >= 2:
                words[parts[0]] = float(parts[1])
    own: set[str] = set()
    for w, v in _mapping(file, raw, "words").items():
        words[str(w).lower()] = _number(file, f"words.{w}", v)
        own.add(str(w).lower())

    phrases: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    for p, v in _mapping(file, raw, "phrases").items():
        toks = tuple(str(p).lower().replace("'", "").split())
        if len(toks) < 2:
            raise SlangError(f"{file}: phrases.{p} needs two or more words (use 'words')")
        phrases.setdefault(toks[0], []).append((toks, _number(file, f"phrases.{p}", v)))
    phrase_map = {k: tuple(sorted(v, key=lambda t: -len(t[0]))) for k, v in phrases.items()}

    after: dict[str, tuple[float, frozenset[str]]] = {}
    clause_final: dict[str, float] = {}
    booster_words: dict[str, float] = {}
    from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

    boosters = {k.replace("'", ""): float(v) for k, v in BOOSTER_DICT.items() if " " not in k}
    boosters.update({str(k).lower(): float(v) for k, v in _mapping(file, raw, "boosters").items()})
    for w, spec in _mapping(file, raw, "contextual").items():
        w = str(w).lower()
        if not isinstance(spec, dict) or "valence" not in spec:
            raise SlangError(f"{file}: contextual.{w} needs a 'valence'")
        v = _number(file, f"contextual.{w}.valence", spec["valence"])
        bad = set(spec) - {"valence", "after", "clause_final", "booster_before_valence"}
        if bad:
            raise SlangError(f"{file}: contextual.{w} has unknown keys {sorted(bad)}")
        if "after" in spec:
            after[w] = (v, frozenset(_word_list(file, spec, "after")))
        elif spec.get("clause_final"):
            clause_final[w] = v
        elif spec.get("booster_before_valence"):
            booster_words[w] = v
            boosters.setdefault(w, 0.293)
        else:
            raise SlangError(
                f"{file}: contextual.{w} needs after, clause_final or booster_before_valence"
            )
        own.add(w)

    emoji: dict[str, float] = {}
    for e, v in _mapping(file, raw, "emoji").items():
        key = _DROP_RE.sub("", unicodedata.normalize("NFC", str(e))).lower()
        emoji[key] = _number(file, f"emoji.{e}", v)
    own.update(emoji)

    spellings = {
        str(k).lower(): str(v).lower() for k, v in _mapping(file, raw, "spellings").items()
    }
    return _Lexicon(
        words=words,
        phrases=phrase_map,
        after=after,
        clause_final=clause_final,
        booster_words=booster_words,
        boosters=boosters,
        negators=frozenset(_word_list(file, raw, "negators"))
        | {w.replace("'", "") for w in NEGATE},
        spellings=spellings,
        contrast=frozenset(_word_list(file, raw, "contrast")),
        requests=frozenset(_word_list(file, raw, "requests")),
        request_openers=frozenset(_word_list(file, raw, "request_openers")),
        request_damp=_damp(file, raw.get("request_damp", 0.35)),
        emoji=emoji,
        own=frozenset(own),
    )


@cache
def _default_lexicon() -> _Lexicon:
    return load_lexicon()


@cache
def _model() -> dict[str, Any] | None:
    try:
        raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {"weights": {k: tuple(v) for k, v in raw["weights"].items()}}


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


# ---------------------------------------------------------------- the rules


def _clean(text: str) -> str:
    if not isinstance(text, str):
        text = str(text)
    text = text[:MAX_CHARS]
    text = text.replace("’", "'").replace("‘", "'")
    return _DROP_RE.sub("", text)


def tokens(text: str, lexicon: _Lexicon | None = None) -> list[tuple[str, bool]]:
    """Return normalised tokens (with an ALL-CAPS flag); clause breaks are ``"|"``."""
    lex = lexicon or _default_lexicon()
    out: list[tuple[str, bool]] = []
    for m in _TOKEN_RE.finditer(_clean(text)):
        kind = m.lastgroup
        raw = m.group()
        if kind == "word":
            low = raw.lower().replace("'", "").replace("’", "")
            if low not in lex.words and low not in lex.spellings:
                squeezed = _SQUEEZE_RE.sub(r"\1\1", low)
                if squeezed not in lex.words:
                    once = _SQUEEZE_RE.sub(r"\1", low)
                    squeezed = once if once in lex.words or once in lex.spellings else squeezed
                low = squeezed
            low = lex.spellings.get(low, low)
            out.append((low, len(raw) > 1 and raw.isupper() and raw.isalpha()))
        elif kind == "emo" or kind == "pict":
            out.append((raw.lower(), False))
        elif kind == "bang":
            out.append(("!", False))
        elif out and out[-1][0] != _BOUNDARY:
            out.append((_BOUNDARY, False))
    return out


def _is_scored(lex: _Lexicon, toks: Sequence[str], i: int) -> bool:
    if i >= len(toks):
        return False
    w = toks[i]
    if w in lex.phrases:
        for seq, _v in lex.phrases[w]:
            if tuple(toks[i : i + len(seq)]) == seq:
                return True
    return (lex.words.get(w, 0.0) != 0.0 and w not in lex.boosters) or w in lex.emoji


def _read(text: str, lex: _Lexicon) -> _Reading:
    pairs = tokens(text, lex)
    toks = [t for t, _ in pairs]
    caps = [c for _, c in pairs]
    n = len(toks)
    some_caps = any(caps) and not all(caps[i] for i in range(n) if toks[i] not in "|!")
    bangs = min(4, toks.count("!"))
    contrast_at = next((i for i, t in enumerate(toks) if t in _STRONG_CONTRAST), -1)
    vals: list[tuple[int, float]] = []
    negations = 0
    requesting = bool(toks) and toks[0] in lex.request_openers
    i = 0
    while i < n:
        w = toks[i]
        if w in lex.requests:
            requesting = True
        elif w in lex.contrast or w in ("!", "?"):
            requesting = bool(toks) and toks[0] in lex.request_openers
        span = 1
        v: float | None = None
        if w in lex.phrases:
            for seq, pv in lex.phrases[w]:
                if tuple(toks[i : i + len(seq)]) == seq:
                    v, span = pv, len(seq)
                    break
        if v is None:
            if w in lex.after:
                pv, prevs = lex.after[w]
                v = pv if i > 0 and toks[i - 1] in prevs else None
            elif w in lex.clause_final:
                nxt = i + 1
                while nxt < n and toks[nxt] in _FILLERS:
                    nxt += 1
                v = lex.clause_final[w] if nxt >= n or toks[nxt] in (_BOUNDARY, "!") else None
            elif w in lex.booster_words:
                v = None if _is_scored(lex, toks, i + 1) else lex.booster_words[w]
            elif w in lex.emoji:
                v = lex.emoji[w]
            elif w in lex.boosters or w in lex.negators:
                v = None
            else:
                v = lex.words.get(w)
        if v:
            if caps[i] and some_caps:
                v += _B_CAPS if v > 0 else -_B_CAPS
            for k in (1, 2, 3):
                j = i - k
                if j < 0 or toks[j] == _BOUNDARY:
                    break
                prev = toks[j]
                if prev in lex.boosters and not (
                    prev in lex.words and lex.words[prev] and prev not in lex.booster_words
                ):
                    b = lex.boosters[prev] * (1.0, 0.95, 0.9)[k - 1]
                    v += b if v > 0 else -b
                elif prev in lex.negators:
                    v *= _N_SCALAR
                    negations += 1
            if requesting and v > 0:
                v *= lex.request_damp
            vals.append((i, v))
        i += span

    pos_mass = sum(v for _, v in vals if v > 0)
    neg_mass = -sum(v for _, v in vals if v < 0)
    if contrast_at >= 0:
        total = sum(v * (_CONTRAST_BEFORE if j < contrast_at else _CONTRAST_AFTER) for j, v in vals)
    else:
        total = sum(v for _, v in vals)
    if total:
        total += (0.292 * bangs) if total > 0 else -(0.292 * bangs)
    mixed = (
        pos_mass >= _MIXED_MIN
        and neg_mass >= _MIXED_MIN
        and min(pos_mass, neg_mass) / max(pos_mass, neg_mass) >= _MIXED_RATIO
    )
    compound = total / math.sqrt(total * total + _ALPHA)
    return _Reading(tuple(toks), total, pos_mass, neg_mass, mixed, negations, compound)


# ---------------------------------------------------------------- the learned layer


def features(text: str, lexicon: _Lexicon | None = None) -> dict[str, float]:
    """Return the trained layer's features: our rules' readings plus VADER's and TextBlob's."""
    lex = lexicon or _default_lexicon()
    return _features(_read(text, lex), _clean(text))


def rule_features(text: str) -> dict[str, float]:
    """Return our rules' and VADER's readings of a text (no TextBlob: it is the slow one)."""
    return _rule_features(_read(text, _default_lexicon()), _clean(text))


def _rule_features(r: _Reading, text: str) -> dict[str, float]:
    v = _vader().polarity_scores(text)
    n = sum(1 for t in r.tokens if t not in (_BOUNDARY, "!"))
    return {
        "_bias": 1.0,
        "_lex": r.compound,
        "_lexpos": r.pos_mass / math.sqrt(r.pos_mass * r.pos_mass + _ALPHA),
        "_lexneg": r.neg_mass / math.sqrt(r.neg_mass * r.neg_mass + _ALPHA),
        "_mixed": 1.0 if r.mixed else 0.0,
        "_neg": min(r.negations, 3) / 3.0,
        "_lexzero": 1.0 if r.total == 0 else 0.0,
        "_len": math.log1p(n) / 5.0,
        "_vader": float(v["compound"]),
        "_vpos": float(v["pos"]),
        "_vneg": float(v["neg"]),
    }


def _features(r: _Reading, text: str) -> dict[str, float]:
    from textblob import TextBlob

    tb = TextBlob(text).sentiment
    return {
        **_rule_features(r, text),
        "_tb": float(tb.polarity),
        "_tbsubj": float(tb.subjectivity),
    }


def _apply(
    weights: Mapping[str, Sequence[float]], feats: Mapping[str, float]
) -> tuple[float, float, float]:
    """Return the layer's (negative, neutral, positive) probabilities."""
    a = b = c = 0.0
    for f, x in feats.items():
        w = weights.get(f)
        if w is not None:
            a += w[0] * x
            b += w[1] * x
            c += w[2] * x
    m = max(a, b, c)
    ea, eb, ec = math.exp(a - m), math.exp(b - m), math.exp(c - m)
    total = ea + eb + ec
    return ea / total, eb / total, ec / total


# ---------------------------------------------------------------- public API


def _label(value: float, band: float) -> str:
    if value > band:
        return "positive"
    if value < -band:
        return "negative"
    return "neutral"


def score(
    text: str,
    engine: str = "best",
    *,
    neutral_band: float | None = None,
    mixed_as_neutral: bool = True,
) -> Sentiment:
    """Score one answer's sentiment with the chosen engine."""
    if engine not in ENGINES:
        raise ValueError(f"unknown sentiment engine {engine!r}; choose one of {ENGINES}")
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if engine == "textblob":
        from textblob import TextBlob

        value = float(TextBlob(_clean(text)).sentiment.polarity)
        band = DEFAULT_BANDS["textblob"] if neutral_band is None else neutral_band
        return Sentiment(_label(value, band), round(value, 4))
    if engine == "vader":
        value = float(_vader().polarity_scores(_clean(text))["compound"])
        band = DEFAULT_BANDS["vader"] if neutral_band is None else neutral_band
        return Sentiment(_label(value, band), round(value, 4))

    lex = _default_lexicon()
    r = _read(text, lex)
    model = _model() if engine == "trained" else None
    if model is None:
        value = r.compound
        band = DEFAULT_BANDS["lexicon"] if neutral_band is None else neutral_band
    else:
        probs = _apply(model["weights"], _features(r, _clean(text)))
        value = probs[2] - probs[0]
        # The layer has learnt what mixed answers mean (a "_mixed" feature), so no override.
        if neutral_band is None:  # the most probable class, unless a band is asked for
            label = LABELS[max(range(3), key=probs.__getitem__)]
            return Sentiment(label, round(value, 4), r.mixed)
        return Sentiment(_label(value, neutral_band), round(value, 4), r.mixed)
    if r.mixed and mixed_as_neutral:
        damped = value * _MIXED_DAMP
        return Sentiment("neutral", round(damped, 4), True)
    return Sentiment(_label(value, band), round(value, 4), r.mixed)


def label_many(texts: Iterable[str], engine: str = "best", **kwargs: Any) -> list[Sentiment]:
    """Score many answers in order."""
    return [score(t, engine, **kwargs) for t in texts]


def tag_sentiment(df: Any, column: str = "answer", engine: str = "best") -> Any:
    """Return a copy of a DataFrame with ``sentiment`` and ``sentiment_score`` columns."""
    results = label_many(("" if v is None else str(v) for v in df[column]), engine)
    out = df.copy()
    out["sentiment"] = [r.label for r in results]
    out["sentiment_score"] = [r.score for r in results]
    return out


# ---------------------------------------------------------------- training (numpy)


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    min_df: int = 3,
    l2: float = 1e-3,
    steps: int = 400,
    learning_rate: float = 0.05,
) -> dict[str, Any]:
    """Fit the layer's weights (class-balanced multinomial logistic regression)."""
    import numpy as np

    lex = _default_lexicon()
    y = np.array([LABELS.index(lab) for lab in labels])
    feats = [_features(_read(t, lex), _clean(t)) for t in texts]
    df: dict[str, int] = {}
    for f in feats:
        for k in f:
            df[k] = df.get(k, 0) + 1
    vocab = sorted(k for k, c in df.items() if c >= min_df or k.startswith("_"))
    index = {k: i for i, k in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, f in enumerate(feats):
        for k, x in f.items():
            j = index.get(k)
            if j is not None and x:
                rows.append(r)
                cols.append(j)
                vals.append(x)
    # CSR-like arrays sorted once by row (forward pass) and once by column (gradient),
    # so each step is two reduceat calls instead of slow scattered adds.
    rows_a, cols_a = np.array(rows), np.array(cols)
    vals_a = np.array(vals, dtype=np.float64)
    n, d = len(texts), len(vocab)
    row_start = np.searchsorted(rows_a, np.arange(n))
    has_row = np.bincount(rows_a, minlength=n) > 0
    order = np.argsort(cols_a, kind="stable")
    c_rows, c_cols, c_vals = rows_a[order], cols_a[order], vals_a[order]
    c_start = np.flatnonzero(np.r_[True, c_cols[1:] != c_cols[:-1]])
    c_ids = c_cols[c_start]
    counts = np.bincount(y, minlength=3).astype(np.float64)
    sample_w = (n / (3.0 * np.maximum(counts, 1.0)))[y]  # balance classes (few neutrals)
    onehot = np.eye(3)[y]
    w = np.zeros((d, 3))
    m1, m2 = np.zeros_like(w), np.zeros_like(w)
    penal = np.array([0.0 if k.startswith("_") else 1.0 for k in vocab])[:, None]
    for step in range(1, steps + 1):
        logits = np.zeros((n, 3))
        logits[has_row] = np.add.reduceat(w[cols_a] * vals_a[:, None], row_start[has_row])
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        err = (p - onehot) * sample_w[:, None] / n
        grad = l2 * w * penal
        grad[c_ids] += np.add.reduceat(err[c_rows] * c_vals[:, None], c_start)
        m1 = 0.9 * m1 + 0.1 * grad
        m2 = 0.999 * m2 + 0.001 * grad * grad
        w -= learning_rate * (m1 / (1 - 0.9**step)) / (np.sqrt(m2 / (1 - 0.999**step)) + 1e-8)
    weights = {
        k: [round(float(x), 4) for x in w[i]]
        for i, k in enumerate(vocab)
        if np.abs(w[i]).max() >= 1e-3
    }
    return {"weights": weights}


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Return the 3-class macro-averaged F1."""
    total = 0.0
    for c in LABELS:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == c and p != c)
        total += 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return total / len(LABELS)


def save_model(model: Mapping[str, Any], path: Path | str = MODEL_FILE) -> None:
    """Write trained weights as compact JSON (and forget the cached copy)."""
    Path(path).write_text(
        json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    _model.cache_clear()
