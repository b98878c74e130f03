"""Benchmark: the two readings of a written answer, inline and in the worker.

1. **Inline** (``pipeline.first_reading``: redaction, the lexicon's hard flag, codebook
   themes, the rule readers' sentiment and priority), what the storing transaction now runs,
   against the full synchronous ``pipeline.analyse`` it used to run: CPU time per answer of
   this one process over the invented dev-set answers.
2. **The worker's job** (``assessing.read_waiting``, the ``analysis.assess`` handler):
   answers stored unread in a fresh SQLite database are read in batches; answers per second
   and CPU per answer of this process (one core: the numpy pass is kept to one thread).

CPU time is robust to other load on a shared machine; wall-clock rates are not, so the load
average is printed with each figure.

    .venv/bin/python bench/bench_assess.py [--answers 600] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the targets are stated
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import answers  # noqa: E402


def cpu_per_answer(fn, texts: list[str], repeats: int) -> list[float]:
    """Return CPU ms per answer of ``fn`` over ``texts``, once per repeat."""
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        for t in texts:
            fn(t)
        out.append((time.process_time() - t0) * 1000 / len(texts))
    return out


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def inline(texts: list[str], repeats: int) -> None:
    from surveys.analysis import pipeline

    pipeline.analyse(texts[0])  # load lexicons and the model
    first = cpu_per_answer(
        lambda t: pipeline.first_reading(t, question_priority="policing", question_id="policing.x"),
        texts,
        repeats,
    )
    full = cpu_per_answer(
        lambda t: pipeline.analyse(t, question_priority="policing", question_id="policing.x"),
        texts[: max(100, len(texts) // 4)],
        repeats,
    )
    m1, m2 = statistics.median(first), statistics.median(full)
    print(f"load average {load()}")
    print(f"inline first reading: {m1:.3f} ms CPU an answer ({1000 / m1:,.0f}/s on one core)")
    print(f"full synchronous analyse: {m2:.2f} ms CPU an answer ({1000 / m2:,.0f}/s on one core)")


def worker(texts: list[str], n: int) -> None:
    from sqlalchemy import func, select

    from surveys.core import engine
    from surveys.runtime import Runtime, initialise
    from surveys.services import assessing, conversation
    from surveys.storage import store
    from surveys.storage.models import Answer
    from tests.conftest import make_settings

    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(make_settings(Path(tmp), f"sqlite:///{tmp}/bench.sqlite3"))
        initialise(rt)
        with rt.transaction() as s:
            code = store.open_round(s, rt.catalogue, title="Bench", priorities=["policing"],
                                    audiences=["child"]).code  # fmt: skip
        stored = 0
        t0 = time.process_time()
        while stored < n:
            with rt.transaction() as s:
                rnd = store.get_round(s, code)
                resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="child")
            with rt.transaction() as s:
                conversation.apply(s, rt.context, resp.id, engine.Inbound(choice="yes"),
                                   key=f"c-{resp.id}")  # fmt: skip
            for i in range(4):
                with rt.transaction() as s:
                    turn = conversation.apply(s, rt.context, resp.id,
                                              engine.Inbound(text=texts[stored % len(texts)]),
                                              key=f"a-{resp.id}-{i}")  # fmt: skip
                stored += turn.stored
        store_cpu = time.process_time() - t0
        with rt.sessions() as s:
            waiting = s.scalar(select(func.count()).where(Answer.assessed_at.is_(None)))
        assessing.model()  # loaded once per worker, before its first job
        c0, w0 = time.process_time(), time.perf_counter()
        counts = assessing.read_waiting(rt.sessions, limit=10**9)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        rt.close()
    print(f"load average {load()}")
    each = store_cpu * 1000 / stored  # a respondent's start and consent shared by 4 answers
    print(f"stored {stored} written answers through the conversation service, {waiting} "
          f"unread: {each:.2f} ms CPU an answer (whole steps, SQLite)")  # fmt: skip
    print(f"worker read {counts['answers']} answers in {counts['batches']} batches: "
          f"{counts['answers'] / wall:.0f}/s wall, {cpu * 1000 / counts['answers']:.2f} ms CPU "
          f"each ({counts['answers'] / cpu:.0f}/s per core), cases {counts['cases']}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--answers", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    texts = answers()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {len(texts)} dev answers")
    inline(texts, args.repeats)
    worker(texts, args.answers)


if __name__ == "__main__":
    main()
