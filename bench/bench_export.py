"""Benchmark: Word export of 11 priorities x 200 approved quotes (target: under 3 s).

Builds a round in a fresh database (SQLite in a temporary folder by default, or the
PostgreSQL given by --database-url), with 200 approved quotes per national priority from
young people and parents, every respondent's rating, three accepted actions per priority, and
unapproved, flagged and superseded answers around them up to 100,000 answers in all.
Then times ``build_plan`` (read and suppress) and ``write_docx`` (charts included)
separately, and prints a Markdown row.

    .venv/bin/python bench/bench_export.py [--quotes 200] [--answers 100000] [--repeats 5]
        [--database-url URL]   # an empty database of its own: it is migrated and filled
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import insert

from surveys.config import Settings
from surveys.export.docx import write_docx
from surveys.runtime import Runtime, initialise
from surveys.services.exporting import build_plan
from surveys.storage import store
from surveys.storage.models import Answer, Proposal, Respondent

WORDS = (
    "they",
    "should",
    "listen",
    "to",
    "us",
    "more",
    "and",
    "the",
    "police",
    "were",
    "fair",
    "school",
    "helped",
    "me",
    "a",
    "lot",
    "[name]",
    "was",
    "kind",
    "not",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def populate(rt: Runtime, quotes: int, answers: int) -> str:
    """Create the round and its answers; return the round code."""
    cat = rt.catalogue
    with rt.transaction() as s:
        rnd = store.open_round(
            s,
            cat,
            title="Benchmark round",
            priorities=cat.priority_keys,
            audiences=["child", "parent", "staff", "partner"],
        )
        kids = [f"c{i:031x}" for i in range(400)]
        parents = [f"p{i:031x}" for i in range(100)]
        s.execute(
            insert(Respondent),
            [
                {
                    "id": rid,
                    "round_id": rnd.id,
                    "channel": "web" if i % 3 else "telegram",
                    "audience": aud,
                    "withdraw_hash": f"{rid:0>64}",
                    "state": {},
                    "state_version": 0,
                }
                for aud, ids in (("child", kids), ("parent", parents))
                for i, rid in enumerate(ids)
            ],
        )
        rows, n = [], 0
        for bank in cat.banks:
            if bank.key == "general":
                continue
            texts = [q for q in bank.questions if q.type == "text"]
            for k in range(quotes + quotes // 2):  # a third more answers than quotes
                q = texts[k % len(texts)]
                aud = "parent" if k % 5 == 0 and q.text_for("parent") else "child"
                pool = parents if aud == "parent" else kids
                words = " ".join(WORDS[(k + j) % len(WORDS)] for j in range(8 + k % 12))
                chosen = k < quotes
                rows.append(
                    {
                        "round_id": rnd.id,
                        "respondent_id": pool[(k * 7) % len(pool)],
                        "priority": bank.key,
                        "question_id": q.id,
                        "audience": aud,
                        "channel": "web",
                        "text": words,
                        "redacted": words,
                        "inbound_key": f"bench:{n}",
                        "superseded": False,
                        "review_status": "approved" if chosen or k % 3 else "pending",
                        "is_quote": chosen,
                        "flagged": not chosen and k % 7 == 0,
                        "sentiment": ("positive", "neutral", "negative")[k % 3],
                    }
                )
                n += 1
        for i, rid in enumerate(kids + parents):
            rows.append(
                {
                    "round_id": rnd.id,
                    "respondent_id": rid,
                    "priority": "general",
                    "question_id": "general.rating",
                    "audience": "child" if rid in kids[:1] or rid.startswith("c") else "parent",
                    "channel": "web",
                    "text": "Good",
                    "choice": ("very_good", "good", "ok", "poor")[i % 4],
                    "redacted": None,
                    "inbound_key": f"bench:{n + i}",
                    "superseded": False,
                    "review_status": "pending",
                    "is_quote": False,
                    "flagged": False,
                }
            )
        # Fill up to the requested number of answers with ones nobody chose as a quote.
        texts = [
            (b.key, q.id)
            for b in cat.banks
            for q in b.questions
            if q.type == "text" and q.text_for("child")
        ]
        for k in range(max(0, answers - len(rows))):
            prio, qid = texts[k % len(texts)]
            rows.append(
                {
                    "round_id": rnd.id,
                    "respondent_id": kids[k % len(kids)],
                    "priority": prio,
                    "question_id": qid,
                    "audience": "child",
                    "channel": "web",
                    "text": "filler answer",
                    "redacted": "filler answer",
                    "inbound_key": f"fill:{k}",
                    "superseded": k % 10 == 0,
                    "review_status": "approved" if k % 2 else "pending",
                    "is_quote": False,
                    "flagged": k % 50 == 0,
                    "sentiment": ("positive", "neutral", "negative")[k % 3],
                }
            )
        for start in range(0, len(rows), 5000):
            s.execute(insert(Answer), rows[start : start + 5000])
        s.execute(
            insert(Proposal),
            [
                {
                    "round_id": rnd.id,
                    "priority": b.key,
                    "agency": agency,
                    "achieve": "Fewer children drawn into the justice system",
                    "do": "Deliver joint diversion panels every week",
                    "evidence": "Fewer first-time entrants",
                    "status": "accepted",
                }
                for b in cat.banks
                if b.key != "general"
                for agency in ("Police", "Health", "YJS")
            ],
        )
        return rnd.code


def main() -> None:
    """Run the benchmark and print a Markdown row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=200, help="approved quotes per priority")
    parser.add_argument("--answers", type=int, default=100_000, help="answers in the round")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        rt = Runtime(
            Settings(
                instance_path=Path(tmp),
                database_url=url,
                secret_key="bench-secret-key-0123456789abcdef-0123",
            )
        )
        initialise(rt)
        code = populate(rt, args.quotes, args.answers)
        # Warm up once: imports (python-docx, matplotlib, fonts) are paid by the first export.
        with rt.transaction() as s:
            write_docx(build_plan(s, store.get_round(s, code), rt.catalogue), io.BytesIO())
        plan_t, docx_t, size = [], [], 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            with rt.transaction() as s:
                plan = build_plan(s, store.get_round(s, code), rt.catalogue)
            t1 = time.perf_counter()
            buf = io.BytesIO()
            write_docx(plan, buf)
            t2 = time.perf_counter()
            plan_t.append(t1 - t0)
            docx_t.append(t2 - t1)
            size = len(buf.getvalue())
        rt.close()
    total = [a + b for a, b in zip(plan_t, docx_t, strict=True)]
    backend = url.split(":", 1)[0]
    print(
        f"| {date.today().isoformat()} | {backend} | {len(plan.sections)} priorities x "
        f"{args.quotes} quotes ({plan.quote_count} quotes), {args.answers:,} answers | "
        f"{statistics.median(plan_t):.2f} s | {statistics.median(docx_t):.2f} s | "
        f"{statistics.median(total):.2f} s (best {min(total):.2f} s) | {size / 1e6:.1f} MB | "
        f"{os.cpu_count()} x {_cpu_model()} | Python {platform.python_version()} |"
    )


if __name__ == "__main__":
    main()
