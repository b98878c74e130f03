"""Group answers into a few readable themes, and tag a Child First codebook.

Two complementary views, as qualitative researchers expect:

* inductive, :func:`find_themes`: TF-IDF over words and two-word phrases, reduced with a
  truncated SVD when there are many answers, then spherical k-means (k from 3 to 8, chosen
  by silhouette) with fixed seeds, so the same answers always give the same themes. Each
  theme is labelled with its most distinctive key phrases, counts its members and names the
  answers nearest its centre as the most representative. Answers with no usable words
  ("idk", "no", emoji) go to a separate "short or unclear answers" theme.
* deductive, :func:`tag_codebook`: cross-cutting Child First themes from the editable YAML
  codebook ``data/codebook.yaml`` (being listened to, respect, fairness, trust in police...).

Themes are data: :class:`Theme` serialises to and from plain dicts / JSON, and
:func:`rename_theme`, :func:`merge_themes` and :func:`move_answer` let a lead edit them.
Only numpy is needed (already there through pandas).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from surveys.analysis.priorities import stem

CODEBOOK_FILE = Path(__file__).parent / "data" / "codebook.yaml"
UNCLEAR_LABEL = "short or unclear answers"
MIN_THEMES, MAX_THEMES = 3, 8
SEED = 20261122
MAX_CHARS = 2_000  # themes read the first 2,000 characters of each answer

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _wordset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you
    your yours yourself also really like get got gets getting go going went gonna wanna
    im ive id its dont didnt doesnt cant wont isnt wasnt arent aint u ur yeah yes ok
    okay lol tbh idk innit bruv man bit lot lots alot think thought know make made one
    thing things stuff way much many even still us thats theres theyre youre whats cos
    coz cuz because need needs want wants would should could let lets say said tell told
    feel felt kind sort something anything everything nothing someone anyone everyone
    people
    """
)


@dataclass(frozen=True)
class Theme:
    """One theme: a readable label, its key phrases, its member answers (by index)."""

    id: int
    label: str
    key_phrases: tuple[str, ...]
    members: tuple[int, ...]
    representatives: tuple[int, ...]
    unclear: bool = False

    @property
    def count(self) -> int:
        """Return the number of answers in the theme."""
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (lists, not tuples; includes the count)."""
        d = asdict(self)
        d.update(
            key_phrases=list(self.key_phrases),
            members=list(self.members),
            representatives=list(self.representatives),
            count=self.count,
        )
        return d

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Theme:
        """Rebuild a theme from :meth:`to_dict` output (``count`` is ignored)."""
        return cls(
            int(raw["id"]),
            str(raw["label"]),
            tuple(raw.get("key_phrases", ())),
            tuple(int(i) for i in raw.get("members", ())),
            tuple(int(i) for i in raw.get("representatives", ())),
            bool(raw.get("unclear", False)),
        )


# ---------------------------------------------------------------- features


# Words too common in answers to a consultation to name or separate a theme on their own;
# they still take part in two-word phrases ("stop and search", "youth clubs").
_WEAK = _wordset(
    """
    kids kid young help better stop time round area place places lot good bad proper
    actually please give keep always never every day same
    """
)


def _terms(text: str) -> tuple[list[str], dict[str, str]]:
    """Return the answer's terms (word stems and word pairs) and their surface forms.

    A pair joins two neighbouring content words, allowing one small word between them
    ("stop and search" -> "stop search", shown as "stop and search").
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    raw = _WORD_RE.findall(text[:MAX_CHARS].lower().replace("’", "'"))
    toks = [w.replace("'", "") for w in raw]
    terms: list[str] = []
    surface: dict[str, str] = {}
    prev: tuple[str, str] | None = None
    gap: list[str] = []
    for w in toks:
        if w in _STOP or len(w) < 2:
            if prev is not None and not gap:
                gap.append(w)
            else:
                prev, gap = None, []
            continue
        s = stem(w)
        if w not in _WEAK:
            terms.append(s)
            surface.setdefault(s, w)
        if prev is not None:
            pair = prev[0] + " " + s
            terms.append(pair)
            surface.setdefault(pair, " ".join([prev[1], *gap, w]))
        prev, gap = (s, w), []
    return terms, surface


def _concepts(text: str) -> list[str]:
    """Return domain concepts (codebook codes, likely priority) as extra clustering terms."""
    from surveys.analysis.priorities import classify

    out = ["#" + k for k in tag_codebook(text)]
    c = classify(text)
    if c.priority != "none":
        out.append("#p:" + c.priority)
    return out


def _matrix(answers: Sequence[str]) -> tuple[Any, list[str], dict[str, str], list[int]]:
    import numpy as np

    docs: list[list[str]] = []
    surface_votes: dict[str, Counter[str]] = {}
    for a in answers:
        terms, surface = _terms(a)
        docs.append(terms + _concepts(a))
        for t, s in surface.items():
            surface_votes.setdefault(t, Counter())[s] += 1
    n = len(answers)
    df = Counter(t for d in docs for t in set(d))
    # Single words may be rare (short answers); pairs must recur to mean anything.
    pair_min = 1 if n < 30 else 2
    vocab = sorted(
        (
            t
            for t, c in df.items()
            if (c >= pair_min if " " in t else c >= 1) and (c <= 0.5 * n or n < 10)
        ),
        key=lambda t: (-df[t], t),
    )[:1500]
    vocab.sort()
    index = {t: i for i, t in enumerate(vocab)}
    x = np.zeros((n, len(vocab)), dtype=np.float32)
    for r, d in enumerate(docs):
        for t, c in Counter(d).items():
            j = index.get(t)
            if j is not None:
                # Pairs count a little more: they make better labels and sharper groups.
                boost = 1.6 if t.startswith("#") else 1.3 if " " in t else 1.0
                x[r, j] = (1.0 + math.log(c)) * math.log((1 + n) / (1 + df[t]) + 1) * boost
    norms = np.linalg.norm(x, axis=1)
    usable = [i for i in range(n) if norms[i] > 0]
    x[usable] /= norms[usable, None]
    surface = {t: v.most_common(1)[0][0] for t, v in surface_votes.items()}
    return x, vocab, surface, usable


def _reduce(x: Any, dims: int = 60) -> Any:
    """Project rows onto the top singular directions (LSA), then re-normalise."""
    import numpy as np

    if x.shape[0] < 40 or x.shape[1] <= dims:
        return x
    gram = (x.T @ x).astype(np.float64)
    vals, vecs = np.linalg.eigh(gram)
    top = vecs[:, np.argsort(vals)[::-1][:dims]]
    # Fix each direction's sign so results never depend on the solver's choice.
    top *= np.where(top[np.abs(top).argmax(axis=0), range(top.shape[1])] < 0, -1.0, 1.0)
    z = (x @ top.astype(np.float32)).astype(np.float32)
    norms = np.linalg.norm(z, axis=1)
    norms[norms == 0] = 1.0
    return z / norms[:, None]


def _kmeans(z: Any, k: int, seed: int, iters: int = 40) -> tuple[Any, float]:
    """Spherical k-means with k-means++ seeding; return labels and total similarity."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = z.shape[0]
    centres = [int(rng.integers(n))]
    dist = 1.0 - z @ z[centres[0]]
    for _ in range(1, k):
        p = np.clip(dist, 0, None) ** 2
        total = p.sum()
        nxt = int(rng.choice(n, p=p / total)) if total > 0 else int(rng.integers(n))
        centres.append(nxt)
        dist = np.minimum(dist, 1.0 - z @ z[nxt])
    c = z[centres].copy()
    labels = np.zeros(n, dtype=np.int64)
    for it in range(iters):
        sims = z @ c.T
        new = sims.argmax(axis=1)
        if it and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = z[labels == j]
            if len(members) == 0:  # refill an empty cluster with the worst-fitting answer
                worst = int(sims.max(axis=1).argmin())
                c[j] = z[worst]
                labels[worst] = j
                continue
            m = members.sum(axis=0)
            c[j] = m / (np.linalg.norm(m) or 1.0)
    sims = z @ c.T
    return labels, float(sims[np.arange(n), labels].sum())


def _silhouette(z: Any, labels: Any, sample: int = 600) -> float:
    """Mean cosine silhouette over an evenly spaced sample (vectorised)."""
    import numpy as np

    n = z.shape[0]
    idx = np.arange(n) if n <= sample else np.linspace(0, n - 1, sample).astype(int)
    k = int(labels.max()) + 1
    onehot = np.zeros((n, k), dtype=np.float32)
    onehot[np.arange(n), labels] = 1.0
    sizes = onehot.sum(axis=0)
    sums = (1.0 - z[idx] @ z.T) @ onehot  # summed distance to each cluster
    own = labels[idx]
    own_size = sizes[own]
    a = sums[np.arange(len(idx)), own] / np.maximum(own_size - 1, 1)
    means = sums / np.maximum(sizes, 1)
    means[np.arange(len(idx)), own] = np.inf
    means[:, sizes == 0] = np.inf
    b = means.min(axis=1)
    denom = np.maximum(a, b)
    sil = np.where((own_size > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1), 0.0)
    return float(sil.mean())


# ---------------------------------------------------------------- public API


def find_themes(
    answers: Sequence[str],
    *,
    min_themes: int = MIN_THEMES,
    max_themes: int = MAX_THEMES,
    n_themes: int | None = None,
    seed: int = SEED,
    phrases_per_label: int = 2,
    representatives: int = 3,
) -> list[Theme]:
    """Group answers into 3-8 labelled themes (deterministic for the same input)."""
    import numpy as np

    answers = ["" if a is None else str(a) for a in answers]
    if not answers:
        return []
    x, vocab, surface, usable = _matrix(answers)
    usable_set = set(usable)
    unclear = [i for i in range(len(answers)) if i not in usable_set]
    themes: list[Theme] = []
    if usable:
        z = _reduce(x[usable])
        n = len(usable)
        if n_themes is not None:
            ks = [max(1, min(n_themes, n))]
        else:
            lo = min(min_themes, n)
            # About three answers per theme at least: 5 answers give 3 themes, not 4.
            ks = list(range(lo, min(max_themes, max(lo, n // 3)) + 1))
        best: tuple[float, Any] | None = None
        for k in ks:
            runs = [_kmeans(z, k, seed + r) for r in range(3)]
            labels = max(runs, key=lambda lr: lr[1])[0]
            quality = _silhouette(z, labels) if len(ks) > 1 and k > 1 else 0.0
            # Ties go to fewer themes: easier to read.
            if best is None or quality > best[0] + 1e-9:
                best = (quality, labels)
        assert best is not None
        labels = best[1]
        xu = x[usable]
        groups = [np.flatnonzero(labels == j) for j in range(int(labels.max()) + 1)]
        groups = [g for g in groups if len(g)]
        # Larger themes first; ties by the first member, so the order is stable.
        groups.sort(key=lambda g: (-len(g), int(g[0])))
        for gi, g in enumerate(groups):
            phrases = _key_phrases(xu, g, vocab, surface, phrases_per_label + 2)
            centre = z[g].mean(axis=0)
            closeness = z[g] @ (centre / (np.linalg.norm(centre) or 1.0))
            order = sorted(range(len(g)), key=lambda r: (-round(float(closeness[r]), 6), g[r]))
            members = tuple(sorted(int(usable[i]) for i in g))
            reps = tuple(int(usable[g[r]]) for r in order[:representatives])
            label = " / ".join(phrases[:phrases_per_label]) or f"theme {gi + 1}"
            themes.append(Theme(gi + 1, label, tuple(phrases), members, reps))
    if unclear:
        themes.append(
            Theme(
                len(themes) + 1,
                UNCLEAR_LABEL,
                (),
                tuple(unclear),
                tuple(unclear[:representatives]),
                unclear=True,
            )
        )
    return themes


def _key_phrases(
    x: Any, group: Any, vocab: Sequence[str], surface: Mapping[str, str], limit: int
) -> list[str]:
    import numpy as np

    inside = x[group].mean(axis=0)
    mask = np.ones(x.shape[0], dtype=bool)
    mask[group] = False
    outside = x[mask].mean(axis=0) if mask.any() else np.zeros_like(inside)
    present = (x[group] > 0).mean(axis=0)
    score = (inside - 0.5 * outside) * np.sqrt(present)
    picked: list[str] = []
    covered: set[str] = set()
    for j in np.argsort(-score, kind="stable"):
        if score[j] <= 0 or len(picked) >= limit:
            break
        term = vocab[j]
        if term.startswith("#"):  # concept features group answers but make poor labels
            continue
        parts = set(term.split())
        # Skip a word already shown inside a chosen phrase, and vice versa.
        if parts <= covered:
            continue
        if " " in term:
            picked = [p for p in picked if p not in {surface.get(w, w) for w in parts}]
        picked.append(surface.get(term, term))
        covered |= parts
    return picked


def themes_to_json(themes: Iterable[Theme]) -> list[dict[str, Any]]:
    """Return themes as plain dicts for JSON."""
    return [t.to_dict() for t in themes]


def themes_from_json(raw: Iterable[Mapping[str, Any]]) -> list[Theme]:
    """Rebuild themes saved with :func:`themes_to_json`."""
    return [Theme.from_dict(r) for r in raw]


def rename_theme(themes: Sequence[Theme], theme_id: int, label: str) -> list[Theme]:
    """Return the themes with one theme renamed."""
    if not label.strip():
        raise ValueError("a theme needs a label")
    _find(themes, theme_id)
    return [replace(t, label=label.strip()) if t.id == theme_id else t for t in themes]


def merge_themes(
    themes: Sequence[Theme], keep_id: int, other_id: int, label: str | None = None
) -> list[Theme]:
    """Return the themes with ``other_id`` merged into ``keep_id``."""
    if keep_id == other_id:
        raise ValueError("cannot merge a theme into itself")
    keep, other = _find(themes, keep_id), _find(themes, other_id)
    merged = replace(
        keep,
        label=(label or keep.label).strip(),
        key_phrases=tuple(dict.fromkeys(keep.key_phrases + other.key_phrases)),
        members=tuple(sorted(set(keep.members) | set(other.members))),
        representatives=tuple(dict.fromkeys(keep.representatives + other.representatives)),
        unclear=keep.unclear and other.unclear,
    )
    return [merged if t.id == keep_id else t for t in themes if t.id != other_id]


def move_answer(themes: Sequence[Theme], answer: int, to_id: int) -> list[Theme]:
    """Return the themes with one answer (by index) moved into theme ``to_id``."""
    _find(themes, to_id)
    out = []
    for t in themes:
        members = set(t.members) - {answer}
        if t.id == to_id:
            members.add(answer)
        reps = tuple(r for r in t.representatives if r in members)
        out.append(replace(t, members=tuple(sorted(members)), representatives=reps))
    return out


def _find(themes: Sequence[Theme], theme_id: int) -> Theme:
    for t in themes:
        if t.id == theme_id:
            return t
    raise KeyError(f"no theme {theme_id}")


# ---------------------------------------------------------------- codebook


class CodebookError(ValueError):
    """The codebook file breaks a rule; the message names the file and entry."""


@dataclass(frozen=True)
class Code:
    """One codebook theme: key, label, description and the phrases that signal it."""

    key: str
    label: str
    description: str = ""
    phrases: tuple[tuple[str, ...], ...] = field(default=())


def load_codebook(path: Path | str | None = None) -> tuple[Code, ...]:
    """Load and validate a codebook YAML (default: the packaged Child First codebook)."""
    path = Path(path) if path else CODEBOOK_FILE
    file = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise CodebookError(f"{file}: cannot be read: {exc}") from None
    entries = raw.get("codes") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise CodebookError(f"{file}: needs a non-empty 'codes' list")
    codes, seen = [], set()
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise CodebookError(f"{file}: code #{n} must be a mapping")
        key = entry.get("key")
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise CodebookError(f"{file}: code #{n}: key must be lower_snake_case")
        if key in seen:
            raise CodebookError(f"{file}: code {key!r} appears twice")
        seen.add(key)
        unknown = set(entry) - {"key", "label", "description", "phrases"}
        if unknown:
            raise CodebookError(f"{file}: code {key!r} has unknown keys {sorted(unknown)}")
        phrases = entry.get("phrases")
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(p, str) and p.strip() for p in phrases)
        ):
            raise CodebookError(f"{file}: code {key!r} needs a list of phrases (quote yes/no)")
        codes.append(
            Code(
                key,
                str(entry.get("label") or key),
                str(entry.get("description", "")),
                tuple(
                    tuple(stem(w) for w in _WORD_RE.findall(p.lower().replace("'", "")))
                    for p in phrases
                ),
            )
        )
    return tuple(codes)


@cache
def _default_codebook() -> tuple[Code, ...]:
    return load_codebook()


@cache
def _codebook_index(codes: tuple[Code, ...]) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for code in codes:
        for seq in code.phrases:
            if seq:
                index.setdefault(seq[0], []).append((seq, code.key))
    return index


def tag_codebook(text: str, codebook: Sequence[Code] | None = None) -> list[str]:
    """Return the codebook theme keys an answer touches, in codebook order."""
    codes = tuple(codebook) if codebook is not None else _default_codebook()
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    toks = [
        stem(w.replace("'", ""))
        for w in _WORD_RE.findall(text[:MAX_CHARS].lower().replace("’", "'"))
    ]
    index = _codebook_index(codes)
    hits: set[str] = set()
    for i, t in enumerate(toks):
        for seq, key in index.get(t, ()):
            if key not in hits and tuple(toks[i : i + len(seq)]) == seq:
                hits.add(key)
    return [c.key for c in codes if c.key in hits]
