"""The analysis report: safeguarding, sentiment, priority, speed and memory (not a test).

    .venv/bin/python bench/analysis/report.py [--sealed] [--out docs/benchmarks-analysis.md]

Measures, in one run, on the sealed split (``--sealed``), on the older held-out sets and on
real text nobody here wrote (published plan quotes, TweetEval's test tweets: false alarms
only), and prints the heads' out-of-fold figures from training (cross-validation by
writer):
* safeguarding: recall (hard flag, possible concern, both), false alarms on hard negatives
  and on ordinary answers;
* sentiment macro-F1: the trained head, our rules, TextBlob, VADER, zero-shot MiniLM;
* priority accuracy: the trained head (with the question's prior where it is a priority
  question), the lexicon, zero-shot MiniLM;
* speed on one core (``OPENBLAS_NUM_THREADS=1``): the hard-flag path, the embedding path,
  the whole pipeline; cold start and resident memory of a fresh process;
* bad input: empty, 100 KB, binary, mixed-script, emoji-only and HTML lines.

``--sealed`` also reads ``tests/data/sealed22/sealed_w46.jsonl`` and reports on it: both tiers
per category and per family, every missed disclosure and every false alarm. That split is
never used to choose anything: run this once, at the end, and report what comes out.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, before numpy loads

import argparse
import csv
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.analysis import data  # noqa: E402
from surveys.analysis import assess, disclosure, embeddings, language, pipeline  # noqa: E402
from surveys.analysis import priorities as lexicon_priorities  # noqa: E402
from surveys.analysis import sentiment as rules  # noqa: E402

SEALED = data.DATA / "sealed22" / "sealed_w46.jsonl"
SEALED_NAME = "**sealed (W46)**"
HARD_FAMILIES = (
    "idiom",
    "opinion",
    "resolved_past",
    "complaint",
    "own_offence",
    "lyrics",
    "profanity",
    "dark_humour",
    "general",
    "sad",
    "professional",
)
LABELS = ("negative", "neutral", "positive")
ZERO_SHOT_SENTIMENT = {
    "negative": "This was bad. I am angry and upset, it made things worse.",
    "neutral": "It was okay, nothing special. I am not sure.",
    "positive": "This was good. I am happy, it really helped me.",
}


def machine() -> str:
    """Describe the machine (CPU, cores, Python, load)."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores (nproc), {cpu}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, load average {load} at start (the machine is shared)"
    )


def macro_f1(gold: list[str], pred: list[str], labels: tuple[str, ...] = LABELS) -> float:
    """Return the macro-averaged F1 over the labels."""
    total = 0.0
    for c in labels:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        total += 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return total / len(labels)


def accuracy(gold: list[str], pred: list[str]) -> float:
    """Return the share of exact matches."""
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / max(1, len(gold))


# ---------------------------------------------------------------- safeguarding


_memo: dict[tuple[str, str | None, str | None], assess.Assessment] = {}


def assess_many(texts, question_priorities=None, question_ids=None) -> list[assess.Assessment]:
    """``assess.assess_many``, remembering answers already read in this run."""
    n = len(texts)
    qp = list(question_priorities) if question_priorities is not None else [None] * n
    qi = list(question_ids) if question_ids is not None else [None] * n
    keys = [(t, p, q) for t, p, q in zip(texts, qp, qi, strict=True)]
    todo = list(dict.fromkeys(k for k in keys if k not in _memo))
    if todo:
        got = assess.assess_many(
            [k[0] for k in todo],
            question_priorities=[k[1] for k in todo],
            question_ids=[k[2] for k in todo],
        )
        _memo.update(zip(todo, got, strict=True))
    return [_memo[k] for k in keys]


def safeguarding(rows: list[dict]) -> dict:
    """Run both tiers over labelled rows; return counts per group and the misses."""
    learned = assess_many(
        [r["text"] for r in rows],
        question_priorities=[data.question_priority(r.get("question_id")) for r in rows],
        question_ids=[r.get("question_id") for r in rows],
    )
    out: dict = {"groups": {}, "missed": [], "cat_ok": 0, "lane": 0, "tiers": []}
    for r, a in zip(rows, learned, strict=True):
        hard = disclosure.check(r["text"])
        found = pipeline.safeguarding(hard, a)
        tier = found.get("flag_tier")
        out["tiers"].append(tier)
        g = out["groups"].setdefault(r["group"], Counter())
        g["n"] += 1
        g[tier or "ok"] += 1
        if a.lane:
            out["lane"] += 1
        if r["group"] == "disclosure":
            if tier is None:
                out["missed"].append(r)
            elif set(found["flag_categories"]) & set(r.get("categories", [])):
                out["cat_ok"] += 1
    return out


TWEETEVAL_TEST = data.TWEETEVAL / "test_text.txt"
QUOTES = data.DATA / "imports" / "published_plan_quotes.csv"


def published_quotes() -> list[dict]:
    """Return the published plans' quotes: ``priority`` (section title), question, answer."""
    with QUOTES.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def real_text() -> dict[str, list[dict]]:
    """Return real text nobody here wrote, as ordinary answers (none is a disclosure).

    The published plans' quotes (children's words as services printed them) and
    TweetEval's test tweets in English (never trained on: the banks hold its validation
    tweets; other languages go to the "not read automatically" lane by design, so they
    are left out here). Read only to measure false alarms.
    """
    sets = {"published plan quotes (real)": [r["answer"] for r in published_quotes()]}
    if TWEETEVAL_TEST.exists():
        tweets = TWEETEVAL_TEST.read_text(encoding="utf-8").splitlines()
        sets["TweetEval test tweets, English (real)"] = [
            t for t in tweets if language.is_english(t)
        ]
    return {
        name: [{"text": t, "flag": False, "group": "ordinary", "categories": []} for t in texts]
        for name, texts in sets.items()
    }


PLAN_SECTIONS = {  # the published plans' section titles (QUOTES) -> priority keys
    "Policing": "policing",
    "Children from groups which are over-represented": "over_represented_groups",
    "Education": "education",
    "Serious violence, exploitation and contextual safeguarding": (
        "serious_violence_and_exploitation"
    ),
    "Prevention": "prevention",
    "Restorative approaches and victims": "restorative_approaches_and_victims",
    "Remands": "remands",
}


def published_quotes_by_priority() -> dict[str, list[dict]]:
    """Return the real published quotes, labelled with their plan section, two ways.

    As the product reads an imported quote whose question is a priority's (the question's
    priority is the prior: ``question_id`` names it), and as bare text: the answer alone
    ("head, text alone") and the question's words before the answer.
    """
    rows = published_quotes()
    return {
        "published plan quotes (real), answer": [
            {
                "text": r["answer"],
                "priority": PLAN_SECTIONS[r["priority"]],
                "question_id": f"{PLAN_SECTIONS[r['priority']]}.published",
            }
            for r in rows
        ],
        "published plan quotes (real), question + answer as one text": [
            {"text": f"{r['question']} {r['answer']}", "priority": PLAN_SECTIONS[r["priority"]]}
            for r in rows
        ],
    }


def safeguarding_rows(name: str, res: dict) -> list[str]:
    """Return Markdown table rows for one set."""
    lines = []
    for group in ("disclosure", "hard_negative", "ordinary"):
        g = res["groups"].get(group)
        if not g:
            continue
        n, flag, possible = g["n"], g["flag"], g["possible"]
        both = flag + possible
        what = "recall" if group == "disclosure" else "false alarms"
        lines.append(
            f"| {name} | {group.replace('_', ' ')} ({n}) | {what} | {flag / n:.3f} ({flag}) "
            f"| {possible / n:.3f} ({possible}) | **{both / n:.3f} ({both}/{n})** |"
        )
    return lines


# ---------------------------------------------------------------- sentiment and priority


def zero_shot_sentiment(texts: list[str]) -> list[str]:
    """Return the label whose description is nearest each text (MiniLM cosine)."""
    labels = list(ZERO_SHOT_SENTIMENT)
    anchors = embeddings.embed([ZERO_SHOT_SENTIMENT[k] for k in labels])
    sims = embeddings.embed(texts) @ anchors.T
    return [labels[int(i)] for i in sims.argmax(axis=1)]


def sentiment_table(sets: dict[str, tuple[list[str], list[str]]]) -> list[str]:
    """Return the sentiment comparison rows (macro-F1) for each set."""
    lines = [
        "| set (n) | trained head | our rules (`best`) | TextBlob | VADER | zero-shot MiniLM |",
        "|---|---|---|---|---|---|",
    ]
    for name, (texts, gold) in sets.items():
        head = [a.sentiment for a in assess_many(texts)]
        ours = [rules.score(t, "best").label for t in texts]
        tb = [rules.score(t, "textblob").label for t in texts]
        vd = [rules.score(t, "vader").label for t in texts]
        zs = zero_shot_sentiment(texts)
        cells = [macro_f1(gold, p) for p in (head, ours, tb, vd, zs)]
        lines.append(
            f"| {name} ({len(gold)}) | **{cells[0]:.3f}** | "
            + " | ".join(f"{c:.3f}" for c in cells[1:])
            + " |"
        )
    return lines


def priority_table(sets: dict[str, list[dict]]) -> list[str]:
    """Return the priority comparison rows (accuracy) for each set."""
    lines = [
        "| set (n) | trained head (+ question prior) | head, text alone | lexicon | "
        "zero-shot MiniLM |",
        "|---|---|---|---|---|",
    ]
    for name, rows in sets.items():
        texts = [r["text"] for r in rows]
        gold = [r["priority"] for r in rows]
        qids = [r.get("question_id") for r in rows]
        prior = [
            a.priority
            for a in assess_many(
                texts,
                question_priorities=[data.question_priority(q) for q in qids],
                question_ids=qids,
            )
        ]
        alone = [a.priority for a in assess_many(texts)]
        lex = [lexicon_priorities.classify(t).priority for t in texts]
        zs = [c.priority for c in lexicon_priorities.embedding_classify_many(texts)]
        cells = [accuracy(gold, p) for p in (prior, alone, lex, zs)]
        lines.append(
            f"| {name} ({len(gold)}) | **{cells[0]:.3f}** | "
            + " | ".join(f"{c:.3f}" for c in cells[1:])
            + " |"
        )
    return lines


# ---------------------------------------------------------------- speed and memory


def cpu_per_item(func, items: list, repeat: int = 3) -> float:
    """Return CPU seconds per item of this process (one thread): the best of ``repeat``
    passes over ``items``.

    The best pass, as ``timeit`` advises: on a shared machine a slower pass measures the
    other processes (their share of the caches and of a core's second thread), not this
    code. The whole run's load average is printed beside the figures.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        func(items)
        best = min(best, time.process_time() - t0)
    return best / len(items)


# Peak resident memory of this process since it started: VmHWM, not getrusage's
# ru_maxrss, which Linux carries over an exec from the process that forked it (this
# report, grown by the readings it holds, made a fresh interpreter look 1 GB large).
PEAK = """
def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
"""

COLD = """
import os, time
os.environ["OPENBLAS_NUM_THREADS"] = "1"
t0 = time.perf_counter()
from surveys.analysis import assess, embeddings
embeddings.encoder(); assess.heads()
t1 = time.perf_counter()
assess.assess("warm up: the police were fair with me")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, peak_mb())
"""

WEB = """
import os, tempfile
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["YJVOICE_INSTANCE"] = tempfile.mkdtemp()
from web import create_app
app = create_app()
from surveys.analysis import pipeline
pipeline.analyse("warm up: the police were fair with me, my dad hits me",
                 question_priority="policing", question_id="policing.opinion")
print(peak_mb())
"""


def fresh(code: str) -> list[float]:
    """Run code in a fresh interpreter (with ``peak_mb()``); return the numbers it prints."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK + code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return []
    return [float(x) for x in out.stdout.split()[-3:]]


BAD_INPUT = {
    "empty": "",
    "100 KB of words": "we went to the youth club and it was good. " * 2400
    + "he hits me every night",
    "binary": bytes(range(256)).decode("latin-1") * 40,
    "mixed script": "the police were ok Мене б'ють вдома 我很好 ok",
    "emoji only": "😂😂😂🔥🔥💀",
    "HTML": "<p>the <b>police</b> were fair</p><script>alert(1)</script>",
}


def bad_input() -> list[str]:
    """Run the CLI filter over bad lines; return Markdown rows."""
    lines = ["| input | output lines | CLI wall time | result |", "|---|---|---|---|"]
    for name, text in BAD_INPUT.items():
        payload = (text.replace("\n", " ") + "\n").encode("utf-8", errors="replace")
        t0 = time.perf_counter()
        out = subprocess.run(
            [str(Path(sys.executable).parent / "yjvoice"), "safeguard", "--json"],
            input=payload,
            capture_output=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        got = out.stdout.decode().splitlines()
        result = json.loads(got[0]) if len(got) == 1 else {}
        summary = f"tier {result.get('tier')}, {result.get('categories')}" if result else "?"
        lines.append(f"| {name} ({len(text):,} chars) | {len(got)} | {wall:.1f} s | {summary} |")
    return lines


def load() -> str:
    """Return the load averages now (the machine is shared)."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def speed(voice: list[dict]) -> list[str]:
    """Measure speed, memory and bad input; return Markdown lines."""
    lines: list[str] = []
    load_before = load()
    texts = [r["text"] for r in voice]
    disclosure.check(texts[0])
    hard = cpu_per_item(lambda xs: [disclosure.check(t) for t in xs], texts)
    pipeline.analyse(texts[0])
    emb = cpu_per_item(lambda xs: assess.assess_many(xs), texts)
    one = cpu_per_item(lambda xs: [assess.assess(t) for t in xs], texts[:300])
    full = cpu_per_item(lambda xs: [pipeline.analyse(t) for t in xs], texts[:300])
    words = np.mean([len(t.split()) for t in texts])
    cold = fresh(COLD)
    web = fresh(WEB)
    lines += [
        "## Speed and memory (CPU time of one process, one BLAS thread)",
        "",
        f"Load average (1/5/15 min, 2 cores) {load_before} before and {load()} after the timings.",
        "",
        f"Over the {len(texts):,} voice answers (mean {words:.0f} words; the best of three "
        "passes):",
        "",
        "| path | CPU per answer | answers/s on one core |",
        "|---|---|---|",
        f"| hard flag (lexicon `check`) | {hard * 1e6:.0f} µs | {1 / hard:,.0f} |",
        f"| embedding path (`assess_many`, batched) | {emb * 1e3:.1f} ms | {1 / emb:,.0f} |",
        f"| embedding path, one answer at a time (`assess`) | {one * 1e3:.1f} ms | "
        f"{1 / one:,.0f} |",
        f"| whole pipeline (`pipeline.analyse`: redact, both tiers, heads, codebook) | "
        f"{full * 1e3:.1f} ms | {1 / full:,.0f} |",
        "",
    ]
    if cold:
        lines.append(
            f"Cold start in a fresh process (import, load the model and the heads): "
            f"{cold[0]:.2f} s; first answer {cold[1] * 1e3:.0f} ms; peak RSS "
            f"{cold[2]:.0f} MB."
        )
    if web:
        lines.append(
            f"A web worker (`create_app()`) with the model loaded and one answer analysed: "
            f"peak RSS {web[0]:.0f} MB."
        )
    lines += [
        "",
        "## Bad input (`yjvoice safeguard --json`, one line each)",
        "",
        *bad_input(),
        "",
    ]
    return lines


# ---------------------------------------------------------------- main


def sealed_group(row: dict) -> str:
    """Return a sealed row's group from its writer's labels (flag and family).

    Hard negatives are the families the brief names as what a naive detector flags (W2's and
    W4's names, or W6a's ``hard_*``); plain answers, quotes, proposals and comments are
    ordinary.
    """
    if row["flag"]:
        return "disclosure"
    family = str(row.get("family") or "").lower()
    if family.startswith("hard") or family in HARD_FAMILIES:
        return "hard_negative"
    return "ordinary"


def per_label(rows: list[dict], res: dict) -> list[str]:
    """Return recall per category and per family, false alarms per family (both tiers)."""
    tiers = res["tiers"]
    lines = [
        "| disclosures labelled | n | hard flag | possible concern | both (recall) |",
        "|---|---|---|---|---|",
    ]
    cats = sorted({c for r in rows if r["group"] == "disclosure" for c in r["categories"]})
    for c in cats:
        idx = [i for i, r in enumerate(rows) if r["group"] == "disclosure" and c in r["categories"]]
        flag = sum(tiers[i] == "flag" for i in idx)
        possible = sum(tiers[i] == "possible" for i in idx)
        lines.append(
            f"| {c} | {len(idx)} | {flag} | {possible} | {(flag + possible) / len(idx):.3f} "
            f"({flag + possible}/{len(idx)}) |"
        )
    lines += [
        "",
        "| group: family | n | hard flag | possible concern | flagged (either) |",
        "|---|---|---|---|---|",
    ]
    fams = sorted({(r["group"], str(r.get("family", "-"))) for r in rows})
    for g, f in fams:
        idx = [i for i, r in enumerate(rows) if r["group"] == g and str(r.get("family", "-")) == f]
        flag = sum(tiers[i] == "flag" for i in idx)
        possible = sum(tiers[i] == "possible" for i in idx)
        lines.append(
            f"| {g.replace('_', ' ')}: {f} | {len(idx)} | {flag} | {possible} | "
            f"{(flag + possible) / len(idx):.3f} |"
        )
    return lines


def listing(rows: list[dict], res: dict, group: str, flagged: bool) -> list[str]:
    """Return one line per missed disclosure (or per false alarm): id, family, text."""
    out = []
    for r, tier in zip(rows, res["tiers"], strict=True):
        if r["group"] != group or (tier is not None) != flagged:
            continue
        text = " ".join(r["text"].split())
        text = text if len(text) <= 200 else text[:200] + "..."
        what = ",".join(r.get("categories") or []) or "-"
        out.append(f"- `{r['id']}` ({r.get('family', '-')}; {what}; {tier or 'ok'}): {text}")
    return out


def rule_text(h: assess.Heads) -> str:
    """Return which folds the threshold was chosen on, and the check behind that."""
    cv = h.meta.get("cv", {})
    rule = cv.get("threshold_rule", "all")
    check = cv.get("threshold_rule_check")
    where = (
        "every fold"
        if rule == "all"
        else "the folds that were sealed splits (" + ", ".join(cv["sealed_like_folds"]) + ")"
    )
    if not check:
        return where
    parts = []
    for name, c in check.items():
        d, hn, o = c["disclosure"], c["hard_negative"], c["ordinary"]
        folds, _, margin = name.partition(" ")  # "all 0.12"; heads before the margins: "all"
        within = f" within {float(margin):.0%} of hard negatives" if margin else ""
        parts.append(
            f"choosing on {folds.replace('_', '-')} folds{within}: recall {d[0]}/{d[1]}, "
            f"hard {hn[0]}/{hn[1]}, ordinary {o[0]}/{o[1]}, "
            f"{c['folds_over_budget']} folds over a budget"
        )
    return (
        f"{where}; checked by choosing without each sealed-like fold and measuring on it: "
        + "; ".join(parts)
    )


def cv_lines(h: assess.Heads) -> list[str]:
    """Return the heads' out-of-fold figures (cross-validation by writer, at training)."""
    cv = h.meta.get("cv")
    if not cv:
        return []
    lines = [
        "## Cross-validation at training (out of fold, leaving one writer's fold out)",
        "",
        f"From the heads' metadata (`bench/analysis/train.py`; {cv['how']}). Each fold is "
        "scored by heads trained on the other folds; the threshold was chosen on these "
        "scores, so the safeguarding rows are not a held-out test: the sealed split is.",
        "",
        "| fold | recall (both tiers) | false alarms, hard negatives | false alarms, ordinary "
        "| sentiment macro-F1 | priority accuracy |",
        "|---|---|---|---|---|---|",
    ]
    sg = cv["safeguarding"]
    for fold in sg:
        cells = [
            f"{k / n:.3f} ({k}/{n})" if n else "-"
            for k, n, *_ in (
                sg[fold].get(g, (0, 0)) for g in ("disclosure", "hard_negative", "ordinary")
            )
        ]
        lines.append(
            f"| {fold} | {' | '.join(cells)} | {cv['sentiment_macro_f1'].get(fold, '-')} | "
            f"{cv['priority_accuracy'].get(fold, '-')} |"
        )
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sealed", action="store_true", help="also report on the sealed split")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--no-speed", action="store_true", help="skip speed, memory, bad input")
    parser.add_argument("--speed-only", action="store_true", help="only speed, memory, bad input")
    args = parser.parse_args()
    started = machine()
    voice = data.voice()
    if args.speed_only:
        report = "\n".join([f"Run {dt.date.today().isoformat()} on {started}.", "", *speed(voice)])
        print(report)
        return 0
    old_sg = data.load(data.DATA / "safeguard_holdout.jsonl")
    for r in old_sg:
        r["group"] = "disclosure" if r["flag"] else "hard_negative"
    sg_sets = {"safeguard_holdout (old, not trained on)": old_sg, **real_text()}
    sealed: list[dict] = []
    if args.sealed:
        sealed = data.load(SEALED)
        for r in sealed:
            r["group"] = sealed_group(r)
        sg_sets = {SEALED_NAME: sealed, **sg_sets}
    h = assess.heads()
    lines = [
        "# Analysis benchmark (`bench/analysis/report.py`)",
        "",
        f"Run {dt.date.today().isoformat()} on {started}.",
        f"Possible-concern threshold {h.threshold} (chosen by cross-validation by writer on "
        "the training data: the lowest whose out-of-fold false alarms, counting the "
        f"lexicon's, stay within {h.meta['margins']['hard_negative']:.0%} of hard negatives "
        f"and {h.meta['margins']['ordinary']:.0%} of ordinary answers, on "
        f"{rule_text(h)}).",
        f"Trained on: {h.meta['trained_on']}.",
        "",
        "## Safeguarding",
        "",
        "| set | group (n) | measure | hard flag (lexicon) | possible concern (net) | both |",
        "|---|---|---|---|---|---|",
    ]
    results = {}
    cat_lines = []
    for name, rows in sg_sets.items():
        res = safeguarding(rows)
        results[name] = res
        lines += safeguarding_rows(name, res)
        n_disc = res["groups"].get("disclosure", {}).get("n", 0)
        if n_disc:
            found = n_disc - len(res["missed"])
            cat_lines.append(
                f"- {name}: labelled category among those given for {res['cat_ok']}/{found} "
                "found disclosures"
            )
    lines += ["", *cat_lines, ""]
    if sealed:
        res = results[SEALED_NAME]
        lines += [
            "### Sealed split: per category and per family",
            "",
            *per_label(sealed, res),
            "",
            f"### Sealed split: missed disclosures ({len(res['missed'])})",
            "",
            *listing(sealed, res, "disclosure", flagged=False),
            "",
            "### Sealed split: false alarms on hard negatives",
            "",
            *listing(sealed, res, "hard_negative", flagged=True),
            "",
            "### Sealed split: false alarms on ordinary answers",
            "",
            *listing(sealed, res, "ordinary", flagged=True),
            "",
        ]
    lines += cv_lines(h)

    sent_sets = {
        "sentiment_holdout (old)": tuple(
            map(
                list,
                zip(
                    *[
                        (r["text"], r["label"])
                        for r in data.load(data.DATA / "sentiment_holdout.jsonl")
                    ],
                    strict=True,
                ),
            )
        ),
    }
    pri_sets = {
        "priorities_holdout (old, text alone)": data.load(data.DATA / "priorities_holdout.jsonl"),
        **published_quotes_by_priority(),
    }
    if sealed:

        def asks(r: dict) -> bool:
            return bool(
                assess.prior_for(data.question_priority(r["question_id"]), r["question_id"])
            )

        sent_sets = {
            SEALED_NAME: ([r["text"] for r in sealed], [r["sentiment"] for r in sealed]),
            **sent_sets,
        }
        pri_sets = {
            SEALED_NAME: sealed,
            "sealed, answers to priority questions": [r for r in sealed if asks(r)],
            "sealed, open questions and proposals": [r for r in sealed if not asks(r)],
            **pri_sets,
        }
    lines += ["## Sentiment (macro-F1, 3 classes)", "", *sentiment_table(sent_sets), ""]
    lines += ["## Priority (accuracy, 11 priorities + none)", "", *priority_table(pri_sets), ""]

    if not args.no_speed:
        lines += speed(voice)
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
