"""Benchmark: import of 10,000 rows including analysis into PostgreSQL (target: under 10 s).

Creates a PostgreSQL database of its own next to the one given by --server-url (default:
the local server's ``test`` database), migrates it, and for each run opens a fresh round and
imports a generated file of 10,000 rows: young people, parents and staff, 2,000 labelled
respondents, about 15% rating answers and the rest written answers varied enough that
nothing is analysed twice by accident (sentences drawn from the dev sets, about 1% of them
disclosures that open safeguarding cases). Times, per run:

* **preview**: decode and parse the file, check every row against the round;
* **commit**: analyse every answer (redaction, sentiment, priority, themes, safeguarding),
  create respondents, insert answers and cases, and commit; the analysis share is shown;
* **re-import**: the same file again, all rows recognised as already imported.

The database is dropped at the end (``--keep`` to keep it).

``--refusals`` instead times how fast files too big to open are refused, each in a fresh
process (so its peak memory is its own; the baseline is a process that only imports the
importer): the issue's 115 KB workbook with a million cells in one row (refused by its
zip directory: the sheet unpacks 342 times), one with 250 distinct columns (refused by
counting the sheet's XML), and an ordinary 20,000-row workbook measured and let through.
The same files took, before the checks, the times shown in docs/benchmarks.md.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--repeats 3] [--format csv|xlsx]
        [--server-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
    .venv/bin/python bench/bench_import.py --refusals
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import statistics
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from surveys.analysis import pipeline
from surveys.config import Settings
from surveys.runtime import Runtime, initialise
from surveys.services import importer
from surveys.storage import store
from surveys.storage.models import Answer, SafeguardingCase

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SECRET = "bench-secret-key-not-for-production-0123456789"
PRIORITIES = [
    "policing",
    "education",
    "diversion",
    "serious_violence_and_exploitation",
    "working_with_families",
    "remands",
]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _sentences() -> tuple[list[str], list[str]]:
    """Return (ordinary sentences, disclosures) from the analysis dev sets."""
    ordinary, flagged = [], []
    for name in ("sentiment_dev", "pii_dev", "priorities_dev", "themes_dev", "safeguard_dev"):
        for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            (flagged if item.get("flag") else ordinary).append(item["text"])
    return ordinary, flagged


def make_rows(rt: Runtime, n: int, seed: int = 7) -> list[list[str]]:
    """Return n data rows (audience, priority, question, answer, respondent)."""
    rng = random.Random(seed)
    ordinary, flagged = _sentences()
    questions: dict[str, list] = {}
    for aud in ("child", "parent", "staff"):
        questions[aud] = [
            q
            for q in rt.catalogue.questions_for(PRIORITIES, aud)
            if q.show_if is None and q.type in ("text", "rating", "yesno")
        ]
    people = [
        (f"Q{i:05d}", ("child", "child", "child", "parent", "staff")[i % 5])
        for i in range(max(1, n // 5))
    ]
    rows, used = [], set()
    while len(rows) < n:
        label, aud = people[len(rows) % len(people)]
        pool = questions[aud]
        q = pool[rng.randrange(len(pool))]
        if (label, q.id) in used:
            continue
        used.add((label, q.id))
        if q.type == "rating":
            answer = rng.choice(["Very good", "Good", "OK", "Poor"])
        elif q.type == "yesno":
            answer = rng.choice(["Yes", "No"])
        elif rng.random() < 0.01:
            answer = rng.choice(flagged)
        else:
            answer = " ".join(rng.choice(ordinary) for _ in range(rng.randint(1, 3)))
        rows.append([aud, q.priority, q.id, answer, label])
    return rows


def encode(rows: list[list[str]], fmt: str) -> bytes:
    header = ["audience", "priority", "question", "answer", "respondent"]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8")
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Answers")
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run_once(rt: Runtime, data: bytes, fmt: str) -> dict[str, float]:
    """Import the file into a fresh round; return timings and counts."""
    with rt.transaction() as s:
        code = store.open_round(
            s,
            rt.catalogue,
            title="Import benchmark",
            priorities=PRIORITIES,
            audiences=["child", "parent", "staff"],
        ).code
    spent = [0.0]

    def timed_analyse(txt: str, **kwargs: Any) -> pipeline.Analysis:
        t = time.perf_counter()
        try:
            return pipeline.analyse(txt, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    t0 = time.perf_counter()
    with rt.sessions() as s:
        rnd = store.get_round(s, code)
        preview = importer.preview_for_round(data, rnd, rt.catalogue, filename=f"bench.{fmt}")
        assert preview.ok, preview.problems[:5]
        t1 = time.perf_counter()
        result = importer.commit(s, rnd, preview, secret=SECRET, analyse=timed_analyse)
        s.commit()
    t2 = time.perf_counter()
    with rt.sessions() as s:
        rnd = store.get_round(s, code)
        again = importer.preview_for_round(data, rnd, rt.catalogue, filename=f"bench.{fmt}")
        dup = importer.commit(s, rnd, again, secret=SECRET)
        s.commit()
        stored = s.scalar(select(func.count()).select_from(Answer).where(Answer.round_id == rnd.id))
        cases = s.scalar(
            select(func.count())
            .select_from(SafeguardingCase)
            .where(SafeguardingCase.round_id == rnd.id)
        )
    t3 = time.perf_counter()
    assert dup.answers == 0 and stored == result.answers
    return {
        "preview": t1 - t0,
        "commit": t2 - t1,
        "analysis": spent[0],
        "total": t2 - t0,
        "reimport": t3 - t2,
        "answers": result.answers,
        "respondents": result.respondents,
        "cases": cases,
    }


REFUSAL_CASE = """
import resource, sys, time
from surveys.services import importer
from surveys.core.catalogue import default_catalogue
data = open(sys.argv[1], "rb").read()
cat = default_catalogue()
t = time.perf_counter()
try:
    importer.preview(data, cat, priorities=["policing"], audiences=["child"], filename="f.xlsx",
                     choices=importer.Choices(new_questions=True))
    outcome = "read"
except importer.ImportFileError as exc:
    outcome = "refused: " + str(exc)[:90]
print(f"{time.perf_counter() - t:.3f}|{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}"
      f"|{outcome}")
"""


def _workbook(sheet_rows: bytes) -> bytes:
    """Return a real workbook whose first sheet holds these rows of XML."""
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["question", "answer"])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, rest = data.split(b"<sheetData>")
                data = head + b"<sheetData>" + sheet_rows + b"</sheetData>"
                data += rest.split(b"</sheetData>", 1)[1]
            z.writestr(item, data)
    return out.getvalue()


def refusals() -> None:
    """Time refusing files too big to open, each in a process of its own."""
    import subprocess
    import sys
    import tempfile

    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
    ordinary = b"".join(
        b'<row r="%d">' % (i + 2)
        + b"".join(
            b'<c t="inlineStr"><is><t>%s</t></is></c>' % text
            for text in (b"What do you think of the police in Medway? (%d)" % (i % 5), b"%d" % i)
        )
        + b"</row>"
        for i in range(20_000)
    )
    cases = {
        "million cells in one row": _workbook(b'<row r="1">' + cell * 1_000_000 + b"</row>"),
        "250 distinct columns": _workbook(
            b'<row r="1">'
            + b"".join(b'<c t="inlineStr"><is><t>question %d</t></is></c>' % i for i in range(250))
            + b"</row>"
        ),
        "ordinary, 20,000 rows, 5 questions": _workbook(
            b'<row r="1"><c t="inlineStr"><is><t>question</t></is></c>'
            b'<c t="inlineStr"><is><t>answer</t></is></c></row>' + ordinary
        ),
    }
    print("| file | size | time to refuse (or read) | peak RSS | outcome |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in cases.items():
            path = Path(tmp) / "f.xlsx"
            path.write_bytes(data)
            out = subprocess.run(
                [sys.executable, "-c", REFUSAL_CASE, str(path)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout.strip()
            took, rss, outcome = out.split("|", 2)
            print(f"| {name} | {len(data) / 1024:,.0f} KB | {took} s | {rss} MB | {outcome} |")
    base = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource; from surveys.services import importer; "
            "from surveys.core.catalogue import default_catalogue; default_catalogue(); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nbaseline (a process that only loads the importer): {base} MB; "
        f"{date.today().isoformat()}, {os.cpu_count()} x {_cpu_model()} (load {load:.1f}), "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    parser.add_argument(
        "--refusals", action="store_true", help="Time refusing workbooks too big to open."
    )
    args = parser.parse_args()
    if args.refusals:
        refusals()
        return

    name = f"yjv_bench_import_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.server_url.rsplit("/", 1)[0] + "/" + name
    rt = Runtime(Settings(instance_path=Path("/tmp") / name, database_url=url, secret_key=SECRET))
    try:
        initialise(rt)
        rows = make_rows(rt, args.rows)
        data = encode(rows, args.format)
        pipeline.analyse("warm up the engines: my name is Sam and the police were fair")
        runs = [run_once(rt, data, args.format) for _ in range(args.repeats)]
    finally:
        rt.close()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    first = runs[0]
    print(
        f"{args.rows} rows ({args.format}, {len(data) / 1e6:.1f} MB): "
        f"{first['answers']} answers, {first['respondents']} respondents, "
        f"{first['cases']} safeguarding cases per run"
    )
    for i, r in enumerate(runs, 1):
        print(
            f"run {i}: preview {r['preview']:.2f} s, commit {r['commit']:.2f} s "
            f"(analysis {r['analysis']:.2f} s), total {r['total']:.2f} s; "
            f"re-import {r['reimport']:.2f} s"
        )
    best = min(r["total"] for r in runs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    print(
        "| date | database | file | preview | commit (analysis) | total (median) | re-import "
        "| machine | Python |"
    )
    print(
        f"| {date.today().isoformat()} | PostgreSQL {version} (local) | {args.rows:,} rows "
        f"{args.format.upper()} ({len(data) / 1e6:.1f} MB) | {med('preview'):.2f} s | "
        f"{med('commit'):.2f} s ({med('analysis'):.2f} s) | **{med('total'):.2f} s** "
        f"(best {best:.2f} s) | {med('reimport'):.2f} s | {os.cpu_count()} x {_cpu_model()} "
        f"(nproc {len(os.sched_getaffinity(0))}, load {load:.1f}) | "
        f"{platform.python_version()} |"
    )


if __name__ == "__main__":
    main()
