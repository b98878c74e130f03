"""Benchmark: the whole per-answer analysis pipeline on one core.

``surveys.analysis.pipeline.analyse`` = redact + sentiment + safeguarding + priority + codebook
tags, as run on every stored answer, over the invented dev-set answers (no optional embeddings).

    ./dev bench bench_pipeline [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

from surveys.analysis.pipeline import analyse

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def answers() -> list[str]:
    """Return every invented answer text from the dev sets."""
    texts = []
    for name in (
        "pii_dev.jsonl",
        "safeguard_dev.jsonl",
        "sentiment_dev.jsonl",
        "priorities_dev.jsonl",
    ):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def main() -> None:
    """Time the pipeline and print answers per second."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    texts = answers()
    for t in texts[:50]:
        analyse(t)  # load lexicons
    rates = []
    for _ in range(args.repeats):
        t0 = time.process_time()
        for t in texts:
            analyse(t)
        rates.append(len(texts) / (time.process_time() - t0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores; {len(texts)} answers "
        f"x {args.repeats}; CPU time of this one process"
    )
    print(
        f"pipeline answers/s: median {statistics.median(rates):,.0f} "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}); peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
