"""Map a free-text answer to a priority area (or ``none``), with a confidence.

The default engine is a keyword / phrase lexicon per priority (``data/priorities.yaml``)
plus the words of each bank's own description, so a local priority added to the banks is
found through its description alone. Phrases beat the words inside them; light stemming
lets "searched" match "search". The ``embeddings`` engine (zero-shot) compares the answer
with each priority's title and description using the all-MiniLM-L6-v2 sentence model
(``embeddings.py``). The pipeline's own priority guess is the trained head in
``assess.py``, which uses this lexicon's scores as features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from surveys.core.catalogue import default_catalogue

DATA_FILE = Path(__file__).parent / "data" / "priorities.yaml"
NONE = "none"
ENGINES: tuple[str, ...] = ("lexicon", "embeddings")
MIN_SCORE = 1.5  # below this evidence the answer is "none"
DESCRIPTION_WEIGHT = 0.7  # each description word found in an answer
MAX_CHARS = 10_000
EMBEDDING_MIN_SIMILARITY = 0.25

_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|\d+")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _wordset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our out over
    own same she should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours young people person children child childrens
    kids kid young's service services support supporting help including include e.g eg
    etc also well way ways things thing experience experiences use using used get got
    how what
    """
)


class PriorityLexiconError(ValueError):
    """The priority lexicon file breaks a rule; the message names the file and entry."""


@dataclass(frozen=True)
class Classification:
    """The best-fitting priority key (or ``none``), a confidence in [0, 1] and all scores."""

    priority: str
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "priority": self.priority,
            "confidence": self.confidence,
            "scores": dict(self.scores),
        }


@dataclass(frozen=True)
class _Priority:
    key: str
    title: str
    description: str


@dataclass(frozen=True)
class _Index:
    keys: tuple[str, ...]
    words: Mapping[str, tuple[tuple[str, float], ...]]  # stem -> (key, weight)
    phrases: Mapping[str, tuple[tuple[tuple[str, ...], tuple[tuple[str, float], ...]], ...]]
    priorities: tuple[_Priority, ...]


def stem(word: str) -> str:
    """Return a crude stem so plurals and -ing / -ed forms meet ("searched" -> "search")."""
    w = word.lower().replace("'", "").replace("’", "")
    if len(w) <= 3:
        return w
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "es" and not w.endswith(("ches", "shes", "sses", "xes")):
                continue
            if suffix == "s" and w.endswith("ss"):
                continue
            w = w[: -len(suffix)] + keep
            if suffix in ("ing", "ed") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls":
                w = w[:-1]  # stopped -> stop
            break
    return w


def words(text: str) -> list[str]:
    """Return the stemmed words of a text (lower case)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    return [stem(w) for w in _WORD_RE.findall(text[:MAX_CHARS].lower())]


# ---------------------------------------------------------------- loading


def load_lexicon(path: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """Load and validate the priority lexicon YAML (key -> title, description, terms)."""
    path = Path(path) if path else DATA_FILE
    file = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise PriorityLexiconError(f"{file}: cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise PriorityLexiconError(f"{file}: must map priority keys to entries")
    out: dict[str, dict[str, Any]] = {}
    for key, entry in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise PriorityLexiconError(f"{file}: priority key {key!r} must be lower_snake_case")
        if not isinstance(entry, dict):
            raise PriorityLexiconError(f"{file}: {key} must be a mapping")
        unknown = set(entry) - {"title", "description", "terms"}
        if unknown:
            raise PriorityLexiconError(f"{file}: {key} has unknown keys {sorted(unknown)}")
        terms = entry.get("terms") or {}
        if not isinstance(terms, dict):
            raise PriorityLexiconError(f"{file}: {key}.terms must map words to weights")
        clean: dict[str, float] = {}
        for term, weight in terms.items():
            if (
                isinstance(term, bool)
                or isinstance(weight, bool)
                or not isinstance(weight, int | float)
                or not 0 < weight <= 5
            ):
                raise PriorityLexiconError(
                    f"{file}: {key}.terms.{term}: weight must be a number in (0, 5] "
                    "(write yes/no/on/off in quotes)"
                )
            clean[str(term)] = float(weight)
        out[key] = {
            "title": str(entry.get("title") or key),
            "description": str(entry.get("description") or ""),
            "terms": clean,
        }
    return out


def _catalogue_priorities(catalogue: Any) -> list[_Priority]:
    return [_Priority(b.key, b.title, b.description) for b in catalogue.banks if b.key != "general"]


@cache
def _default_priorities() -> tuple[_Priority, ...]:
    """Packaged banks merged over the lexicon's own titles."""
    lex = load_lexicon()
    merged = {k: _Priority(k, v["title"], v["description"]) for k, v in lex.items()}
    for p in _catalogue_priorities(default_catalogue()):
        merged[p.key] = p
    return tuple(merged.values())


def _build(priorities: Sequence[_Priority], lexicon: Mapping[str, Mapping[str, Any]]) -> _Index:
    word_map: dict[str, dict[str, float]] = {}
    phrase_map: dict[tuple[str, ...], dict[str, float]] = {}
    for p in priorities:
        terms = dict(lexicon.get(p.key, {}).get("terms", {}))
        for term, weight in terms.items():
            toks = tuple(words(term))
            if not toks:
                continue
            target = (
                word_map.setdefault(toks[0], {})
                if len(toks) == 1
                else phrase_map.setdefault(toks, {})
            )
            target[p.key] = max(target.get(p.key, 0.0), weight)
    # Description (and title) words: weak evidence, but enough for a local priority. A word
    # in several priorities' descriptions ("work", "support") tells them apart less, so it
    # counts less, and not at all once three or more share it.
    desc = {
        p.key: {
            w
            for w in words(p.title + " " + p.description)
            if w not in _STOP and len(w) >= 3 and not w.isdigit()
        }
        for p in priorities
    }
    spread: dict[str, int] = {}
    for ws in desc.values():
        for w in ws:
            spread[w] = spread.get(w, 0) + 1
    for key, ws in desc.items():
        for w in ws:
            if spread[w] > 2:
                continue
            slot = word_map.setdefault(w, {})
            slot[key] = max(slot.get(key, 0.0), DESCRIPTION_WEIGHT / spread[w])
    phrases: dict[str, list[tuple[tuple[str, ...], tuple[tuple[str, float], ...]]]] = {}
    for toks, weights in phrase_map.items():
        phrases.setdefault(toks[0], []).append((toks, tuple(sorted(weights.items()))))
    return _Index(
        keys=tuple(p.key for p in priorities),
        words={w: tuple(sorted(v.items())) for w, v in word_map.items()},
        phrases={k: tuple(sorted(v, key=lambda t: -len(t[0]))) for k, v in phrases.items()},
        priorities=tuple(priorities),
    )


@cache
def _default_index() -> _Index:
    return _build(_default_priorities(), load_lexicon())


_custom_cache: dict[int, tuple[Any, _Index]] = {}


def _index_for(catalogue: Any) -> _Index:
    if catalogue is None:
        return _default_index()
    hit = _custom_cache.get(id(catalogue))
    if hit is not None and hit[0] is catalogue:
        return hit[1]
    index = _build(_catalogue_priorities(catalogue), load_lexicon())
    if len(_custom_cache) > 16:
        _custom_cache.clear()
    _custom_cache[id(catalogue)] = (catalogue, index)
    return index


# ---------------------------------------------------------------- scoring


def _lexicon_scores(text: str, index: _Index) -> dict[str, float]:
    toks = words(text)
    scores: dict[str, float] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()  # each term counts once per answer
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        matched = 0
        for seq, weights in index.phrases.get(t, ()):
            if tuple(toks[i : i + len(seq)]) == seq:
                for key, w in weights:
                    if (key, seq) not in seen:
                        seen.add((key, seq))
                        scores[key] = scores.get(key, 0.0) + w
                matched = len(seq)
                break
        if matched:
            i += matched
            continue
        for key, w in index.words.get(t, ()):
            if (key, (t,)) not in seen:
                seen.add((key, (t,)))
                scores[key] = scores.get(key, 0.0) + w
        i += 1
    return scores


def _decide(scores: Mapping[str, float], keys: Iterable[str], min_score: float) -> Classification:
    full = {k: round(scores.get(k, 0.0), 3) for k in keys}
    ranked = sorted(full.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked or ranked[0][1] < min_score:
        return Classification(
            NONE, round(1.0 - (ranked[0][1] / min_score if ranked else 0.0) * 0.5, 3), full
        )
    top = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    strength = 1.0 - math.exp(-top / 2.0)  # how much evidence
    margin = top / (top + second)  # how clearly this one over the next
    return Classification(ranked[0][0], round(strength * margin, 3), full)


def classify(
    text: str, catalogue: Any = None, *, engine: str = "lexicon", min_score: float = MIN_SCORE
) -> Classification:
    """Return the priority an answer is most about, or ``none`` when nothing fits."""
    if engine not in ENGINES:
        raise ValueError(f"unknown classify engine {engine!r}; choose one of {ENGINES}")
    index = _index_for(catalogue)
    if engine == "embeddings":
        return _embedding_classify(text, index)
    return _decide(_lexicon_scores(text, index), index.keys, min_score)


def default_keys() -> tuple[str, ...]:
    """Return the packaged priorities' keys, in the banks' order (``general`` excluded)."""
    return _default_index().keys


def classify_many(
    texts: Iterable[str], catalogue: Any = None, **kwargs: Any
) -> list[Classification]:
    """Classify many answers in order."""
    return [classify(t, catalogue, **kwargs) for t in texts]


def tag_priorities(df: Any, column: str = "answer", catalogue: Any = None) -> Any:
    """Return a copy of a DataFrame with ``priority_guess`` and ``priority_confidence``."""
    results = classify_many(("" if v is None else str(v) for v in df[column]), catalogue)
    out = df.copy()
    out["priority_guess"] = [r.priority for r in results]
    out["priority_confidence"] = [r.confidence for r in results]
    return out


# ---------------------------------------------------------------- zero-shot embeddings


def embeddings_available() -> bool:
    """Return True: the sentence model ships in the default install (kept for callers)."""
    return True


def embed(texts: Sequence[str]) -> Any:
    """Return unit-length MiniLM embeddings (a numpy array) for texts."""
    from surveys.analysis.embeddings import embed as _embed

    return _embed(list(texts))


_desc_cache: dict[tuple[str, ...], Any] = {}


def _embedding_classify(text: str, index: _Index) -> Classification:
    return embedding_classify_many([text], index)[0]


def embedding_classify_many(
    texts: Sequence[str],
    index: _Index | None = None,
    min_similarity: float = EMBEDDING_MIN_SIMILARITY,
) -> list[Classification]:
    """Zero-shot: the priority whose title + description is nearest each answer."""
    index = index or _default_index()
    keys = index.keys
    if keys not in _desc_cache:
        _desc_cache[keys] = embed([f"{p.title}: {p.description}" for p in index.priorities])
    sims = embed([t[:MAX_CHARS] if isinstance(t, str) else "" for t in texts]) @ _desc_cache[keys].T
    out = []
    for row in sims:
        scores = {k: round(float(s), 3) for k, s in zip(keys, row, strict=True)}
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        top, second = ranked[0][1], ranked[1][1] if len(ranked) > 1 else 0.0
        if top < min_similarity:
            out.append(Classification(NONE, round(1.0 - top, 3), scores))
        else:
            out.append(
                Classification(ranked[0][0], round(min(1.0, top + (top - second)), 3), scores)
            )
    return out
