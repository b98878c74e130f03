"""Benchmark: the review queue and the dashboard with 100,000 answers in PostgreSQL.

Target: each page under 300 ms of server time (the time the app takes to answer one
request: routing, sign-in check, queries, template; measured in-process through the WSGI
test client, so no network or browser time is included).

Builds its own database (``yjv_bench_review`` on the local server by default; dropped and
created again), fills one round with 100,000 answers from 20,000 invented respondents over
30 days (11 priorities, every audience and channel, redactions, sentiment, codebook tags,
1% flagged with a safeguarding case, a third already reviewed), then times each page
``--repeats`` times after one warm-up request and writes docs/benchmarks-review.md.

    .venv/bin/python bench/bench_review.py [--answers 100000] [--repeats 15]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from surveys.analysis.clustering import tag_codebook  # noqa: E402
from surveys.analysis.redact import redact  # noqa: E402
from surveys.config import Settings  # noqa: E402
from surveys.runtime import Runtime, initialise  # noqa: E402
from surveys.services import review, themes  # noqa: E402
from surveys.storage import store  # noqa: E402
from surveys.storage.models import Answer, Respondent, SafeguardingCase  # noqa: E402

DB_NAME = "yjv_bench_review"
PASSWORD = "bench password long enough"
TEMPLATES = [
    "the police should listen to young people more",
    "PC Dave Smith was alright with me at the station",
    "jayden from Oakfield Academy was sound with me",
    "my mate Tyler got stopped on Elm Street for nothing",
    "school was rubbish but Miss Grant helped me",
    "more youth clubs and things to do at night",
    "they treated my son with respect",
    "stop and search makes me feel like a criminal",
    "my worker was always there for me",
    "nobody listens to us so why bother",
    "help with college and getting a job",
    "the cell was cold and nobody told me what was happening",
    "saying sorry to the victim helped me move on",
    "kids carry knives because they are scared",
    "visit more often when you are on remand",
    "the PRU was better than school",
    "talk to us like people not like we are criminals",
    "my mum needed help too not just me",
    "it was ok i guess",
    "idk",
]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _load() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def fresh_database(admin_url: str) -> str:
    """Drop and create the benchmark database; return its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + DB_NAME


def populate(rt: Runtime, n_answers: int) -> str:
    """Create one round with n_answers answers; return its code."""
    rng = random.Random(20261122)
    cat = rt.catalogue
    analysed = {}
    for t in TEMPLATES:
        red = redact(t)
        analysed[t] = (
            red.text,
            [
                {
                    "start": s.start,
                    "end": s.end,
                    "category": s.category,
                    "original": s.original,
                    "placeholder": s.placeholder,
                }
                for s in red.spans
            ],
            tag_codebook(red.text),
        )
    questions = [(b.key, q.id, q) for b in cat.banks for q in b.questions if q.type == "text"]
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    with rt.transaction() as s:
        rnd = store.open_round(
            s,
            cat,
            title="Benchmark round",
            priorities=cat.priority_keys,
            audiences=["child", "parent", "staff", "partner"],
        )
        n_people = max(1, n_answers // 5)
        people = []
        for i in range(n_people):
            aud = rng.choices(["child", "parent", "staff", "partner"], [70, 15, 10, 5])[0]
            chan = rng.choices(["web", "telegram", "import"], [60, 30, 10])[0]
            people.append(
                {
                    "id": f"{i:032x}",
                    "round_id": rnd.id,
                    "channel": chan,
                    "audience": aud,
                    "withdraw_hash": f"{i:064x}",
                    "state": {},
                    "state_version": 0,
                    "created_at": start,
                    "updated_at": start,
                    "completed_at": start if rng.random() < 0.7 else None,
                }
            )
        for k in range(0, len(people), 5000):
            s.execute(insert(Respondent), people[k : k + 5000])
        rows = []
        flagged_ids = []
        for i in range(n_answers):
            p = people[i % n_people]
            prio, qid, q = rng.choice(questions)
            while q.text_for(p["audience"]) is None:
                prio, qid, q = rng.choice(questions)
            raw = rng.choice(TEMPLATES)
            red, spans, tags = analysed[raw]
            flagged = rng.random() < 0.01
            if flagged:
                flagged_ids.append(i)
            roll = rng.random()
            status = "approved" if roll < 0.25 else "rejected" if roll < 0.33 else "pending"
            rows.append(
                {
                    "round_id": rnd.id,
                    "respondent_id": p["id"],
                    "priority": prio,
                    "question_id": qid,
                    "audience": p["audience"],
                    "channel": p["channel"],
                    "text": f"{raw} ({i})",
                    "redacted": f"{red} ({i})",
                    "redactions": spans,
                    "themes": tags,
                    "inbound_key": f"bench:{i}",
                    "superseded": False,
                    "created_at": start + timedelta(minutes=int(i * 43200 / n_answers)),
                    "sentiment": rng.choice(["positive", "neutral", "negative"]),
                    "sentiment_score": 0.0,
                    "flagged": flagged,
                    "flag_categories": ["abuse"] if flagged else [],
                    "review_status": "pending" if flagged else status,
                    "is_quote": status == "approved" and not flagged and rng.random() < 0.2,
                    "priority_guess": prio,
                    "priority_confidence": 0.5,
                }
            )
        for k in range(0, len(rows), 5000):
            s.execute(insert(Answer), rows[k : k + 5000])
        ids = s.scalars(
            select(Answer.id).where(Answer.round_id == rnd.id, Answer.flagged.is_(True))
        ).all()
        s.execute(
            insert(SafeguardingCase),
            [
                {
                    "answer_id": a,
                    "round_id": rnd.id,
                    "categories": ["abuse"],
                    "status": "new",
                    "created_at": start,
                }
                for a in ids
            ],
        )
        code = rnd.code
    # The steady state autovacuum keeps a live database in: statistics and visibility map.
    with rt.database.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return code


def time_get(client, url: str, repeats: int) -> tuple[float, float, int]:
    """Return (median ms, max ms, bytes) of GET url after one warm-up."""
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        assert res.status_code == 200, (url, res.status_code)
    return statistics.median(samples), max(samples), len(res.data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks-review.md"))
    args = ap.parse_args()

    url = fresh_database(args.admin_url)
    settings = Settings(
        instance_path=Path("/tmp/yjv-bench-review"),
        database_url=url,
        secret_key="bench-secret-key-not-for-production-0123456789",
    )
    rt = Runtime(settings)
    initialise(rt, admin_email="lead@bench.example.org", admin_password=PASSWORD)
    t0 = time.perf_counter()
    code = populate(rt, args.answers)
    fill_s = time.perf_counter() - t0
    with rt.transaction() as s:
        total = s.scalar(select(func.count()).select_from(Answer))
        version = s.scalar(text("show server_version"))
        rnd = store.get_round(s, code)
        # The busiest written question with fewer than 1,500 answers gets themes.
        counts = s.execute(
            select(Answer.question_id, func.count())
            .where(*review.visible_conditions(rnd))
            .group_by(Answer.question_id)
            .order_by(func.count())
        ).all()
        qid, q_n = next(((q, n) for q, n in reversed(counts) if n < 1500), counts[0])
        t1 = time.perf_counter()
        themes.recompute(s, rnd, qid)
        theme_s = time.perf_counter() - t1
        pending = s.scalar(select(func.max(Answer.id)).where(*review.visible_conditions(rnd)))
        some_answer = s.scalar(
            select(Answer.id)
            .where(*review.visible_conditions(rnd))
            .order_by(Answer.id.desc())
            .limit(1)
        )

    from web import create_app

    app = create_app({"YJV_SETTINGS": settings, "TESTING": True})
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    res = client.post(
        "/admin/login",
        data={"csrf_token": token, "email": "lead@bench.example.org", "password": PASSWORD},
    )
    assert res.status_code == 302, res.status_code

    base = f"/admin/rounds/{code}"
    pages = [
        ("Review queue, first page", f"{base}/review"),
        ("Review queue, all statuses", f"{base}/review?status=all"),
        ("Review queue, deep page (keyset)", f"{base}/review?status=all&after={pending - 200}"),
        (
            "Review queue, priority + sentiment",
            f"{base}/review?priority=policing&sentiment=negative",
        ),
        ("Review queue, codebook theme", f"{base}/review?theme=trust_in_police&status=all"),
        ("Review queue, search the words", f"{base}/review?q=youth+clubs&status=all"),
        ("Review queue, rare search", f"{base}/review?q=Oakfield+%2899&status=all"),
        ("One answer", f"{base}/review/{some_answer}"),
        ("Dashboard page", f"{base}/dashboard"),
        ("Dashboard chart (SVG, cached)", f"{base}/dashboard/sentiment.svg"),
        ("Chosen quotes", f"{base}/quotes"),
        (f"Themes of one question ({q_n:,} answers)", f"{base}/themes/{qid}"),
    ]
    results = []
    for label, u in pages:
        med, worst, size = time_get(client, u, args.repeats)
        results.append((label, med, worst, size))
        print(f"{label:45s} median {med:7.1f} ms  max {worst:7.1f} ms  {size / 1024:6.1f} KB")

    # A chart drawn for the first time (cache cleared): matplotlib's own cost.
    from surveys.services import dashboard

    cold = []
    for _ in range(5):
        dashboard._render.cache_clear()
        t = time.perf_counter()
        client.get(f"{base}/dashboard/sentiment.svg")
        cold.append((time.perf_counter() - t) * 1000)
    cold_ms = statistics.median(cold)
    alone = []
    for _ in range(5):  # a chart opened on its own: it reads only the counts it draws
        app.extensions.get("yjv_dashboard_facts", {}).clear()
        t = time.perf_counter()
        client.get(f"{base}/dashboard/sentiment.svg")
        alone.append((time.perf_counter() - t) * 1000)
    alone_ms = statistics.median(alone)
    print(f"{'Dashboard chart (SVG, read on its own)':45s} median {alone_ms:7.1f} ms")
    print(f"{'Dashboard chart (SVG, first drawing)':45s} median {cold_ms:7.1f} ms")

    with rt.transaction() as s:
        t = time.perf_counter()
        bulk = review.approve_unflagged(s, store.get_round(s, code))
        bulk_ms = (time.perf_counter() - t) * 1000
        s.rollback()
    print(f"approve_unflagged: {bulk.approved:,} answers in {bulk_ms:.0f} ms (rolled back)")

    target = 300.0
    lines = [
        "# Benchmarks: review queue and dashboard",
        "",
        f"Run on {date.today():%d %B %Y}: {_nproc()} CPUs ({_cpu_model()}), Python "
        f"{platform.python_version()}, PostgreSQL {version}, database `{DB_NAME}` on the same "
        f"machine; load average {_load()} when the run ended (other work shares this machine).",
        "",
        f"One round with **{total:,} answers** from {args.answers // 5:,} invented respondents "
        "over 30 days: 11 priorities, every audience and channel, redaction spans, sentiment, "
        "codebook tags, 1% flagged with a safeguarding case, a third already reviewed "
        f"(filled in {fill_s:.0f} s by `bench/bench_review.py`).",
        "",
        "Server time is measured in-process through Flask's WSGI test client, signed in as the "
        "lead: routing, the sign-in check, every query and the template, but no network or "
        f"browser. Median and worst of {args.repeats} requests after one warm-up. "
        f"Target: under {target:.0f} ms each.",
        "",
        "| Page | Median (ms) | Worst (ms) | Size (KB) | Under target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, med, worst, size in results:
        lines.append(
            f"| {label} | {med:.1f} | {worst:.1f} | {size / 1024:.1f} | "
            f"{'yes' if med < target else 'NO'} |"
        )
    lines += [
        "",
        "Other numbers from the same run:",
        "",
        f"- A dashboard chart drawn from scratch (matplotlib, SVG; cache cleared): "
        f"{cold_ms:.0f} ms median. Charts are separate image requests, cached on their numbers, "
        "so the dashboard page itself never waits for matplotlib.",
        f"- The heaviest chart (sentiment) opened on its own, with no page numbers to reuse: "
        f"{alone_ms:.0f} ms median (it reads only the counts it draws).",
        f"- Finding themes for one question of {q_n:,} answers (engine + storing): "
        f"{theme_s:.1f} s (a button the lead presses, not a page load).",
        f"- `approve_unflagged` (one UPDATE) over the round: {bulk.approved:,} answers in "
        f"{bulk_ms:.0f} ms.",
        "",
        "How it stays fast: the queue pages by keyset on the answer id (`after`/`before`), so a "
        "deep page costs what the first costs; answers with the safeguarding lead are left out "
        "with a flag test and an anti-join (written as `NOT EXISTS` on its own: inside "
        "`NOT (a OR b)` PostgreSQL costs it as a per-row subplan and pays for JIT compilation "
        "on every page, which took the first page from about 350 ms to 55 ms here); counts per "
        "status are one grouped query. The dashboard never loads an answer: a few grouped "
        "counts, grouped by plain columns so PostgreSQL hashes a few hundred groups instead of "
        "sorting 100,000 rows, and distinct people counted over 64-bit hashes of their ids. "
        "Free-text search cannot run in SQL: the redacted text is encrypted at rest (issue "
        "14). The database returns each visible answer's id and the last 24 characters of "
        "its token; the process keeps the decrypted, case-folded texts keyed by those "
        "characters (up to 250,000), so a warm search decrypts nothing, but it still reads "
        "one short row per answer of the round and matches in Python: the slowest page "
        "above, over target at this size. A keyed (blind) index of word pieces, or a per-round "
        "cache of the visible ids, would make it fast again; neither is built.",
        "",
        "The benchmark's answers repeat 20 invented sentences, which the theme engine groups "
        "quickly; on 5,000 varied answers the engine itself takes about 10 s on this machine "
        "(measured apart), so finding themes is a button the lead presses, not a page load.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    rt.close()
    if not args.keep:
        admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
