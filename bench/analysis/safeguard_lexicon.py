"""Benchmark the safeguarding detector (not a test).

    .venv/bin/python bench/analysis/safeguard_lexicon.py [--write FILE.md]

No open tool does this job for young people's informal text, so the reference is the
obvious baseline: flag any answer containing a word from a flat keyword list (what a
hand-written filter usually is). Reports recall, false alarms and category agreement
per labelled category on the dev set and on the held-out set written with it, then
throughput of ``check`` alone and of ``redact`` + ``check`` together (one thread), and
the resident memory once both modules' data are loaded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.analysis_redact import machine  # noqa: E402
from surveys.analysis.disclosure import CATEGORIES, check  # noqa: E402
from surveys.analysis.redact import redact  # noqa: E402

DATA = ROOT / "tests" / "data"
SETS = {"dev": DATA / "safeguard_dev.jsonl", "holdout": DATA / "safeguard_holdout.jsonl"}
KEYWORDS = re.compile(
    r"\b(?:die|dead|kill|suicid|kms|unalive|cut|self harm|hit|"
    r"beat|beats|abuse|abused|rape|raped|touched|groomed|grooming|nudes|drugs|county lines|"
    r"owe|debt|threaten\w*|stab|knife|blade|gang|homeless|ran away|kicked out|starve|"
    r"anorexi|bulimi|sick|scared|unsafe|help me|hurt|neglect|no food)"
)


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def evaluate(rows: list[dict], detect) -> dict:
    per_cat = defaultdict(lambda: [0, 0])
    tp = fn = fp = tn = cat_ok = 0
    for row in rows:
        flag, cats = detect(row["text"])
        if row["flag"]:
            tp += flag
            fn += not flag
            cat_ok += bool(set(cats) & set(row["categories"]))
            for c in row["categories"]:
                per_cat[c][0] += flag
                per_cat[c][1] += 1
        else:
            fp += flag
            tn += not flag
    return {
        "recall": tp / (tp + fn),
        "false_alarms": fp / (fp + tn),
        "fp": fp,
        "negatives": fp + tn,
        "category_agreement": cat_ok / max(tp + fn, 1),
        "per_cat": {k: v[0] / v[1] for k, v in per_cat.items()},
        "per_cat_n": {k: v[1] for k, v in per_cat.items()},
    }


def ours(text: str) -> tuple[bool, list[str]]:
    result = check(text)
    return result.flag, result.categories


def keywords(text: str) -> tuple[bool, list[str]]:
    return bool(KEYWORDS.search(text.lower())), []


def per_answer_us(func, texts: list[str], repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for t in texts:
            func(t)
    return (time.perf_counter() - start) / repeat / len(texts) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="write a Markdown report here")
    args = parser.parse_args()
    sets = {k: load(v) for k, v in SETS.items()}
    results = {
        name: {k: evaluate(rows, fn) for k, rows in sets.items()}
        for name, fn in (("ours", ours), ("keyword baseline", keywords))
    }
    mixed = [r["text"] for r in sets["dev"]] + [
        json.loads(line)["text"]
        for line in (DATA / "pii_dev.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    redact(mixed[0])
    check(mixed[0])
    t_check = per_answer_us(check, mixed)
    t_redact = per_answer_us(redact, mixed)
    t_both = per_answer_us(lambda t: (redact(t), check(t)), mixed)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    systems = list(results)
    lines = [
        "# Safeguarding detector benchmark (`bench/analysis/safeguard_lexicon.py`)",
        "",
        f"Run {dt.date.today().isoformat()} on {machine()}.",
        f"Data: `tests/data/safeguard_dev.jsonl` ({len(sets['dev'])} invented messages, "
        f"{sum(r['flag'] for r in sets['dev'])} disclosures, "
        f"{sum(not r['flag'] for r in sets['dev'])} non-disclosures incl. idioms and "
        f"opinions) and `tests/data/safeguard_holdout.jsonl` ({len(sets['holdout'])} "
        "messages, not used for tuning).",
        "",
        "| set | metric | " + " | ".join(systems) + " |",
        "|---|---|" + "---|" * len(systems),
    ]
    for k in sets:
        for metric, label in (
            ("recall", "recall (disclosures flagged)"),
            ("false_alarms", "false-alarm rate"),
            ("category_agreement", "labelled category among those given"),
        ):
            cells = []
            for s in systems:
                v = results[s][k][metric]
                extra = (
                    f" ({results[s][k]['fp']}/{results[s][k]['negatives']})"
                    if metric == "false_alarms"
                    else ""
                )
                cells.append(
                    f"{v:.3f}{extra}"
                    if not (s != "ours" and metric == "category_agreement")
                    else "-"
                )
            lines.append(f"| {k} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Recall per category (dev; n in brackets):",
        "",
        "| category | " + " | ".join(systems) + " |",
        "|---|" + "---|" * len(systems),
    ]
    for cat in CATEGORIES:
        n = results["ours"]["dev"]["per_cat_n"].get(cat, 0)
        cells = [f"{results[s]['dev']['per_cat'].get(cat, 0):.2f}" for s in systems]
        lines.append(f"| {cat} ({n}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Speed on {len(mixed)} short answers (safeguarding + PII dev sets), one thread: "
        f"`check` {t_check:.0f} µs/answer ({1e6 / t_check:,.0f}/s); `redact` {t_redact:.0f} "
        f"µs/answer; `redact` + `check` {t_both:.0f} µs/answer ({1e6 / t_both:,.0f}/s).",
        f"Peak resident memory of this process with both modules' data loaded: {rss_mb:.0f} MB.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        args.write.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
