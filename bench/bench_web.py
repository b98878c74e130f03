"""Benchmark (a): web answers stored per second through gunicorn on PostgreSQL.

Starts the real app under gunicorn against a fresh PostgreSQL database and drives many
simulated young people through the form exactly as a browser does: GET the page, POST the
answer (CSRF token, submission UUID, question id), follow the 303 to the next page. Then
the same load against a bare Flask endpoint doing one INSERT per request on the same stack
(gunicorn, SQLAlchemy, psycopg 3, PostgreSQL): the ceiling. Finally an open-loop run at
half the measured rate, for latency percentiles.

    ./dev bench bench_web [--seconds 20] [--workers 2] [--threads 8] [--clients 32]

Only loopback traffic; every loop is bounded by time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
CHOICE = re.compile(r'<button[^>]*name="choice"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_database() -> tuple[str, str]:
    name = f"yjv_bench_web_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_gunicorn(app: str, url: str, port: int, workers: int, threads: int,
                   instance: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET, YJVOICE_INSTANCE=instance,
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
         "--log-level", "warning", app],
        env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {app} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


async def respondent(base: str, code: str, until: float, latencies: list[float],
                     pace: float | None) -> int:
    """Answer the round like a young person on a phone; return answers stored."""
    stored = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = (await client.get(f"/r/{code}/child")).text
        while time.monotonic() < until:
            fields = dict(HIDDEN.findall(page))
            if "question" not in fields:  # the thank-you page: start another young person
                client.cookies.clear()
                page = (await client.get(f"/r/{code}/child")).text
                continue
            data = {**fields, "submission": str(uuid.uuid4())}
            choices = CHOICE.findall(page)
            if fields["question"] == "consent":
                data["choice"] = "yes"
            elif choices:
                data["choice"] = choices[0]
            else:
                data["answer"] = "the police should listen to us and talk to us like people"
            t0 = time.perf_counter()
            res = await client.post(f"/r/{code}/child", data=data, follow_redirects=True)
            if fields["question"] != "consent" and res.status_code == 200:
                latencies.append(time.perf_counter() - t0)
                stored += 1
            page = res.text
            if pace:
                await asyncio.sleep(pace)
    return stored


async def inserter(base: str, until: float, latencies: list[float], pace: float | None) -> int:
    done = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < until:
            t0 = time.perf_counter()
            res = await client.post("/insert", data={"answer": "the police should listen"})
            if res.status_code == 200:
                latencies.append(time.perf_counter() - t0)
                done += 1
            if pace:
                await asyncio.sleep(pace)
    return done


def load_process(kind: str, base: str, code: str, clients: int, seconds: float,
                 pace: float | None, out: mp.Queue) -> None:
    async def run() -> tuple[int, list[float]]:
        lat: list[float] = []
        until = time.monotonic() + seconds
        if kind == "form":
            jobs = [respondent(base, code, until, lat, pace) for _ in range(clients)]
        else:
            jobs = [inserter(base, until, lat, pace) for _ in range(clients)]
        counts = await asyncio.gather(*jobs)
        return sum(counts), lat

    out.put(asyncio.run(run()))


def drive(kind: str, base: str, code: str, clients: int, seconds: float, procs: int,
          pace: float | None = None) -> tuple[float, list[float]]:
    q: mp.Queue = mp.Queue()
    ps = [mp.Process(target=load_process,
                     args=(kind, base, code, clients // procs, seconds, pace, q))
          for _ in range(procs)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    elapsed = time.perf_counter() - t0
    total = sum(n for n, _ in results)
    lat = [x for _, ls in results for x in ls]
    return total / elapsed, lat


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000


def main() -> None:
    """Run both loads and print a Markdown summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--load-procs", type=int, default=2)
    args = ap.parse_args()

    from surveys import db, store
    from surveys.catalogue import default_catalogue

    name, url = make_database()
    instance = tempfile.mkdtemp(prefix="yjv-bench-")
    try:
        engine = db.make_engine(url)
        db.upgrade(engine)
        with db.session_factory(engine).begin() as s:
            store.sync_priorities(s, default_catalogue())
            code = store.open_round(s, default_catalogue(), title="Bench",
                                    priorities=default_catalogue().priority_keys,
                                    audiences=["child"]).code
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, "
                              "answer text NOT NULL, created_at timestamptz DEFAULT now())"))
        engine.dispose()

        results = {}
        for kind, app in (("form", "web:create_app()"), ("ceiling", "bench.ceiling_app:app")):
            port = free_port()
            proc = start_gunicorn(app, url, port, args.workers, args.threads, instance)
            base = f"http://127.0.0.1:{port}"
            try:
                drive(kind, base, code, 4, 3, 1)  # warm up
                rate, lat = drive(kind, base, code, args.clients, args.seconds, args.load_procs)
                half_rate = rate / 2
                clients = max(2, args.clients // 4)
                pace = clients / half_rate  # open loop: each client waits between requests
                half, half_lat = drive(kind, base, code, clients, args.seconds, args.load_procs,
                                       pace=pace)
                results[kind] = (rate, lat, half, half_lat)
            finally:
                stop(proc)
    finally:
        drop_database(name)

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    print(f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}; "
          f"gunicorn {args.workers} workers x {args.threads} threads (gthread); "
          f"{args.clients} clients in {args.load_procs} load processes on the same machine")
    form, ceil = results["form"], results["ceiling"]
    print("| endpoint | max rate /s | p50 ms | p95 ms | at half rate /s | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for label, (rate, lat, half, hl) in (("web form: answer stored (POST + 303 + next page)", form),
                                         ("ceiling: bare Flask, one INSERT", ceil)):
        print(f"| {label} | {rate:,.0f} | {pct(lat, 50):.1f} | {pct(lat, 95):.1f} | "
              f"{half:,.0f} | {pct(hl, 50):.1f} | {pct(hl, 95):.1f} |")
    print(f"ratio form/ceiling: {form[0] / ceil[0]:.2f}")


if __name__ == "__main__":
    main()
