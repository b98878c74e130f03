"""Train the analysis heads and write ``surveys/analysis/data/analysis_heads.npz``.

    .venv/bin/python bench/analysis/train.py [--check] [--no-write]

Deterministic: no random draws at all (zero-initialised weights, full-batch Adam for a
fixed number of steps, a hash split), so the same data and code give the same file.
Training data: the train split of ``tests/data/voice`` plus the older ``*_dev`` sets;
choices (the possible-concern threshold) are made on the voice dev split only. The sealed
split is never read here.

``--check`` retrains and compares with the shipped file (exit 1 when they differ).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.analysis import data  # noqa: E402
from surveys.analysis import assess, disclosure, embeddings  # noqa: E402

OUT = assess.HEADS_FILE
CACHE = Path("/tmp/yjvoice-train-cache")
SENT_LABELS = ("negative", "neutral", "positive")
BUDGET_HARD, BUDGET_ORDINARY = 0.15, 0.05  # the false-alarm targets
SG_L2, SENT_L2, PRI_L2, CAT_L2 = 1e-4, 1e-4, 3e-3, 3e-3  # SG_L2, SENT_L2 chosen on dev


# ---------------------------------------------------------------- logistic regression


def fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    l2: float = 1e-3,
    steps: int = 600,
    rate: float = 0.05,
    softmax: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit (multinomial or one-vs-rest) logistic regression by full-batch Adam from zero."""
    x = x.astype(np.float64)
    n, d = x.shape
    k = y.shape[1]
    sw = np.ones(n) if weights is None else weights.astype(np.float64)
    sw = sw / sw.sum()
    w = np.zeros((d, k))
    b = np.zeros(k)
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    for step in range(1, steps + 1):
        z = x @ w + b
        if softmax:
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
        else:
            p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        err = (p - y) * sw[:, None]
        grads = [x.T @ err + l2 * w, err.sum(axis=0)]
        for i, (param, g) in enumerate(zip((w, b), grads, strict=True)):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            param -= rate * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
    return w.astype(np.float32), b.astype(np.float32)


def balanced(labels: np.ndarray) -> np.ndarray:
    """Return per-row weights that give every class the same total weight."""
    classes, counts = np.unique(labels, return_counts=True)
    per = {c: len(labels) / (len(classes) * n) for c, n in zip(classes, counts, strict=True)}
    return np.array([per[c] for c in labels])


# ---------------------------------------------------------------- readings (cached)


def read_all(texts: list[str]) -> list[embeddings.Reading]:
    """Return readings of texts, cached on disk by content (embedding is the slow part)."""
    span_lists = [assess.spans(t) for t in texts]
    key = hashlib.sha256(
        json.dumps([texts, span_lists]).encode() + Path(embeddings.__file__).read_bytes()
    ).hexdigest()[:16]
    path = CACHE / f"readings-{key}.npz"
    if path.exists():
        z = np.load(path)
        wholes, flat, counts = z["wholes"], z["spans"], z["counts"]
    else:
        t0 = time.perf_counter()
        readings = embeddings.encoder().read(texts, span_lists)
        print(f"embedded {len(texts)} texts in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        wholes = np.stack([r.whole for r in readings])
        counts = np.array([len(r.spans) for r in readings])
        flat = np.vstack([r.spans for r in readings if len(r.spans)] or [np.zeros((0, 384))])
        CACHE.mkdir(exist_ok=True)
        np.savez(path, wholes=wholes, spans=flat, counts=counts)
    out, at = [], 0
    for i, c in enumerate(counts):
        out.append(embeddings.Reading(wholes[i], flat[at : at + c], tuple(span_lists[i])))
        at += c
    return out


# ---------------------------------------------------------------- the safeguarding net


def train_net(items: list[dict], rounds: int = 3) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """Multiple-instance training: an answer is a disclosure if one of its sentences is.

    Negative answers give every sentence as a negative. A disclosure first gives its whole
    answer; then, each round, its whole answer and its highest-scoring sentence (the one
    that carries the disclosure, as far as the model can tell so far).
    """
    feats = [it["seg"] for it in items]
    pos = [it["flag"] for it in items]
    w = b = None
    for r in range(rounds):
        rows, ys = [], []
        for f, p in zip(feats, pos, strict=True):
            if not p:
                rows.append(f)
                ys += [0] * len(f)
                continue
            rows.append(f[:1])
            ys.append(1)
            if r > 0 and len(f) > 1:
                s = f[1:] @ w[:, 0] + b[0]
                rows.append(f[1 + int(s.argmax())][None, :])
                ys.append(1)
        x = np.vstack(rows)
        y = np.array(ys)
        w, b = fit(x, y[:, None].astype(float), weights=balanced(y), l2=SG_L2, softmax=False)
    return w[:, 0], float(b[0]), feats


def answer_score(w: np.ndarray, b: float, seg: np.ndarray) -> float:
    """Return the highest sentence probability of one answer."""
    z = float((seg @ w + b).max())
    return 1.0 / (1.0 + np.exp(-z))


def rates(items: list[dict], flagged: list[bool]) -> dict[str, tuple[int, int]]:
    """Return (flagged, total) per group."""
    out: dict[str, list[int]] = {}
    for it, f in zip(items, flagged, strict=True):
        slot = out.setdefault(it["group"], [0, 0])
        slot[0] += bool(f)
        slot[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def choose_threshold(items: list[dict], scores: np.ndarray, lexicon: list[bool]) -> float:
    """Return the lowest threshold whose false alarms stay within both budgets (on dev)."""
    best = 1.0
    for t in np.round(np.arange(0.99, 0.0, -0.01), 2):
        r = rates(items, [lx or s >= t for lx, s in zip(lexicon, scores, strict=True)])
        hard = r.get("hard_negative", (0, 1))
        ordinary = r.get("ordinary", (0, 1))
        if hard[0] / hard[1] <= BUDGET_HARD and ordinary[0] / ordinary[1] <= BUDGET_ORDINARY:
            best = float(t)
        else:
            break
    return best


# ---------------------------------------------------------------- main


def build(write: bool) -> dict:
    """Train every head; return the arrays and metadata (and write them unless told not to)."""
    voice = data.voice()
    old_sg = data.load(data.DATA / "safeguard_dev.jsonl")
    old_sent = data.load(data.DATA / "sentiment_dev.jsonl")
    old_pri = data.load(data.DATA / "priorities_dev.jsonl")
    for r in old_sg:
        r["group"] = "disclosure" if r["flag"] else "hard_negative"
    texts = sorted({r["text"] for r in voice} | {r["text"] for r in old_sg + old_sent + old_pri})
    readings = dict(zip(texts, read_all(texts), strict=True))

    def seg(text: str) -> np.ndarray:
        return assess.segment_features(text, readings[text])

    train = [r for r in voice if r["split"] == "train"]
    dev = [r for r in voice if r["split"] == "dev"]

    # Safeguarding net
    sg_train = [{"seg": seg(r["text"]), "flag": r["flag"]} for r in train + old_sg]
    sg_w, sg_b, _ = train_net(sg_train)
    dev_items = [{"seg": seg(r["text"]), "flag": r["flag"], "group": r["group"]} for r in dev]
    dev_scores = np.array([answer_score(sg_w, sg_b, it["seg"]) for it in dev_items])
    dev_lex = [disclosure.check(r["text"]).flag for r in dev]
    threshold = choose_threshold(dev_items, dev_scores, dev_lex)

    # Categories (one-vs-rest over disclosures: whole answer + its top sentence)
    cats = disclosure.CATEGORIES
    rows, ys = [], []
    for r in train + old_sg:
        if not r["flag"]:
            continue
        f = seg(r["text"])
        top = f[int((f @ sg_w + sg_b).argmax())]
        y = np.array([c in r["categories"] for c in cats], dtype=float)
        rows += [f[0], top]
        ys += [y, y]
    cat_w, cat_b = fit(np.vstack(rows), np.vstack(ys), l2=CAT_L2, softmax=False)

    # Sentiment
    rows, ys = [], []
    for r in train:
        rows.append(assess.sentiment_features(r["text"], readings[r["text"]]))
        ys.append(SENT_LABELS.index(r["sentiment"]))
    for r in old_sent:
        rows.append(assess.sentiment_features(r["text"], readings[r["text"]]))
        ys.append(SENT_LABELS.index(r["label"]))
    y = np.array(ys)
    sent_w, sent_b = fit(np.vstack(rows), np.eye(3)[y], weights=balanced(y), l2=SENT_L2)

    # Priority (voice: with the question's prior where it is a priority question)
    keys = tuple(k for k in assess.priority_lexicon.default_keys())
    labels = (*keys, assess.priority_lexicon.NONE)
    rows, ys = [], []
    for r in train:
        prior = assess.prior_for(data.question_priority(r["question_id"]), r["question_id"])
        rows.append(assess.priority_features(r["text"], readings[r["text"]], prior, keys))
        ys.append(labels.index(r["priority"]))
    for r in old_pri:
        rows.append(assess.priority_features(r["text"], readings[r["text"]], None, keys))
        ys.append(labels.index(r["priority"]))
    y = np.array(ys)
    pri_w, pri_b = fit(np.vstack(rows), np.eye(len(labels))[y], weights=balanced(y), l2=PRI_L2)

    meta = {
        "threshold": threshold,
        "categories": list(cats),
        "sent_labels": list(SENT_LABELS),
        "sent_features": list(assess.SENTIMENT_RULES),
        "pri_labels": list(labels),
        "guards": list(assess.guards.NAMES),
        "trained_on": {
            "voice_train": len(train),
            "safeguard_dev": len(old_sg),
            "sentiment_dev": len(old_sent),
            "priorities_dev": len(old_pri),
        },
        "budgets": {"hard_negative": BUDGET_HARD, "ordinary": BUDGET_ORDINARY},
    }
    arrays = {
        "sg_w": sg_w.astype(np.float32),
        "sg_b": np.float32(sg_b),
        "cat_w": cat_w,
        "cat_b": cat_b,
        "sent_w": sent_w,
        "sent_b": sent_b,
        "pri_w": pri_w,
        "pri_b": pri_b,
        "meta": np.array(json.dumps(meta, sort_keys=True)),
    }
    r = rates(dev_items, [lx or s >= threshold for lx, s in zip(dev_lex, dev_scores, strict=True)])
    print(f"threshold {threshold}; dev flagged per group: {r}", file=sys.stderr)
    if write:
        np.savez_compressed(OUT, **arrays)
        print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)", file=sys.stderr)
    return arrays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    parser.add_argument("--no-write", action="store_true", help="train and report only")
    args = parser.parse_args()
    arrays = build(write=not (args.check or args.no_write))
    if args.check:
        with np.load(OUT, allow_pickle=False) as z:
            same = all(np.array_equal(z[k], v) for k, v in arrays.items())
        print("same as the shipped file" if same else "DIFFERENT from the shipped file")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
