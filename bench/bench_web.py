"""Benchmark (a): web answers stored per second through gunicorn on PostgreSQL.

Starts the real app under gunicorn against a fresh PostgreSQL database and drives many
simulated young people through the form exactly as a browser does, both ways the form
works: with JavaScript off (GET the page, POST the answer with its CSRF token, submission
UUID and question id, follow the 303 to the next page) and with the page's script,
web/static/form.js (the same POST, answered with the next page). Then the same load
against bare Flask endpoints on the same stack (gunicorn, SQLAlchemy, psycopg 3,
PostgreSQL), see bench/ceiling_app.py: the floor (only the SQL an answer needs), the
optimistic floor (the same work as two autocommit statements, a design the product does
not use) and the ceiling (one INSERT per request). Each run is followed by an open-loop
run at half its rate, for latency percentiles.

The load generator shares the machine with gunicorn and PostgreSQL (real clients are phones,
not on the server), so by default it is the lean client in bench/loadgen.py, which costs a
fraction of the CPU of httpx; `--client httpx` runs the old httpx client for comparison.
Each max-rate run also reports where the CPU went: gunicorn (master and workers),
PostgreSQL, the load generator, and the whole machine (so other work is visible).

    ./dev bench bench_web [--seconds 20] [--workers 2] [--threads 4] [--clients 32]
                          [--load-procs 2] [--client lean|httpx]
                          [--paths form,inline,floor,optimistic,ceiling]

Only loopback traffic; every loop is bounded by time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.loadgen import Client, Response  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
CHOICE = re.compile(r'<button[^>]*name="choice"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The runs --paths can pick: the gunicorn app each drives and how the report names it.
PATHS = {
    "form": ("web:create_app()", "web form, no script: answer stored (POST + 303 + GET next page)"),
    "inline": (
        "web:create_app()",
        "web form with its script: answer stored (POST answered with next page)",
    ),
    "floor": (
        "bench.ceiling_app:app",
        "floor: bare Flask, an answer's SQL alone (lock, claim, INSERT, UPDATE)",
    ),
    "optimistic": (
        "bench.ceiling_app:app",
        "optimistic floor: the same as two autocommit statements (not our design)",
    ),
    "ceiling": ("bench.ceiling_app:app", "ceiling: bare Flask, one INSERT"),
}
# The floors' endpoints in bench/ceiling_app.py.
FLOOR_PATHS = {"floor": "/answer-sql", "optimistic": "/answer-sql-optimistic"}


def floor_key(i: int) -> str:
    """The resume key of the floor run's i-th respondent (see bench/ceiling_app.py)."""
    return f"bench-floor-{i:04d}".ljust(64, "0")


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


def start_gunicorn(
    app: str, url: str, port: int, workers: int, threads: int, instance: str
) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        YJVOICE_INSTANCE=instance,
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except urllib.error.HTTPError as exc:  # up, if not healthy: as before, < 500 will do
            if exc.code < 500:
                return proc
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {app} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


class WebClient(Protocol):
    """What a simulated young person needs from an HTTP client."""

    requests: int

    async def get(self, path: str) -> Response: ...

    async def post(
        self,
        path: str,
        form: dict[str, str],
        follow_redirects: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response: ...

    def clear_cookies(self) -> None: ...

    async def close(self) -> None: ...


class HttpxClient:
    """The old load generator, httpx.AsyncClient, behind the same interface (for comparison)."""

    def __init__(self, base: str) -> None:
        import httpx

        self.client = httpx.AsyncClient(base_url=base, timeout=30)
        self.requests = 0

    async def get(self, path: str) -> Response:
        res = await self.client.get(path)
        self.requests += 1
        return Response(res.status_code, {}, res.content)

    async def post(
        self,
        path: str,
        form: dict[str, str],
        follow_redirects: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        res = await self.client.post(
            path, data=form, follow_redirects=follow_redirects, headers=headers
        )
        self.requests += 1 + len(res.history)
        return Response(res.status_code, {}, res.content)

    def clear_cookies(self) -> None:
        self.client.cookies.clear()

    async def close(self) -> None:
        await self.client.aclose()


def make_client(kind: str, base: str) -> WebClient:
    """A lean loadgen.Client (default) or the old httpx client."""
    return HttpxClient(base) if kind == "httpx" else Client(base, timeout=30)


async def respondent(
    client: WebClient,
    code: str,
    until: float,
    latencies: list[float],
    pace: float | None,
    inline: bool = False,
) -> int:
    """Answer the round like a young person on a phone; return answers stored.

    Without `inline`, as a browser with JavaScript off: POST, then GET the page the 303
    points to. With it, as web/static/form.js does: one POST answered with the next page.
    """
    headers = {"YJV-Inline": "1"} if inline else None
    stored = 0
    page = (await client.get(f"/r/{code}/child")).text
    while time.monotonic() < until:
        fields = dict(HIDDEN.findall(page))
        if "question" not in fields:  # the thank-you page: start another young person
            client.clear_cookies()
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
        res = await client.post(f"/r/{code}/child", data, follow_redirects=True, headers=headers)
        if fields["question"] != "consent" and res.status == 200:
            latencies.append(time.perf_counter() - t0)
            stored += 1
        page = res.text
        if pace:
            await asyncio.sleep(pace)
    return stored


async def inserter(
    client: WebClient,
    until: float,
    latencies: list[float],
    pace: float | None,
    path: str = "/insert",
    form: dict[str, str] | None = None,
) -> int:
    """Post bare answers to the ceiling app; return requests that stored one."""
    done = 0
    while time.monotonic() < until:
        t0 = time.perf_counter()
        data = {
            "answer": "the police should listen",
            "submission": str(uuid.uuid4()),
            **(form or {}),
        }
        res = await client.post(path, data)
        if res.status == 200:
            latencies.append(time.perf_counter() - t0)
            done += 1
        if pace:
            await asyncio.sleep(pace)
    return done


def load_process(
    kind: str,
    client_kind: str,
    base: str,
    code: str,
    clients: int,
    seconds: float,
    pace: float | None,
    out: mp.Queue,
    first: int = 0,
) -> None:
    """One load process: `clients` simulated users on one event loop. Reports (count,
    latencies, HTTP requests, its own CPU seconds over the run)."""

    async def run() -> tuple[int, list[float], int]:
        lat: list[float] = []
        until = time.monotonic() + seconds
        users = [make_client(client_kind, base) for _ in range(clients)]
        try:
            if kind in ("form", "inline"):
                jobs = [respondent(c, code, until, lat, pace, kind == "inline") for c in users]
            elif kind in FLOOR_PATHS:  # each client answers as its own respondent
                jobs = [
                    inserter(
                        c,
                        until,
                        lat,
                        pace,
                        FLOOR_PATHS[kind],
                        {"code": code, "key": floor_key(first + i)},
                    )
                    for i, c in enumerate(users)
                ]
            else:
                jobs = [inserter(c, until, lat, pace) for c in users]
            counts = await asyncio.gather(*jobs)
        finally:
            for c in users:
                await c.close()
        return sum(counts), lat, sum(c.requests for c in users)

    cpu0 = time.process_time()
    done, lat, requests = asyncio.run(run())
    out.put((done, lat, requests, time.process_time() - cpu0))


CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Snapshot:
    """CPU ticks (user + system) so far, from /proc: see snapshot()."""

    gunicorn: int  # master and workers, plus children they reaped
    postgres: dict[int, int]  # per process: the server's own and our database's backends
    others: dict[int, tuple[int, str, int]]  # the rest but us: ticks (with reaped children's),
    # command line, parent
    busy: int  # all cores, from /proc/stat
    total: int
    irq: int  # interrupts (loopback networking, mostly), charged to no process


def snapshot(gunicorn_pid: int, database: str) -> Snapshot:
    """Read every /proc/<pid>/stat once and sort the ticks into gunicorn (the tree under the
    master: with the reaped children's ticks the difference is exact even if a worker is
    recycled), PostgreSQL (comm "postgres", not a backend of another database: someone
    else's tests count as other) and the rest (with their reaped children, so short-lived
    commands show under whoever ran them; not this process, which reaps the load processes)."""
    stats: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        with contextlib.suppress(OSError, IndexError):
            if d.isdigit():  # fields after "(comm)": ppid is [1], utime stime cutime cstime [11:15]
                stats[int(d)] = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
    kids: dict[int, list[int]] = {}
    for pid, st in stats.items():
        kids.setdefault(int(st[1]), []).append(pid)
    tree, todo = set(), [gunicorn_pid]
    while todo and len(tree) < len(stats):
        pid = todo.pop()
        if pid in stats and pid not in tree:
            tree.add(pid)
            todo += kids.get(pid, [])
    snap = Snapshot(sum(sum(map(int, stats[p][11:15])) for p in tree), {}, {}, 0, 0, 0)
    for pid, st in stats.items():
        if pid in tree or pid == os.getpid():
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if comm == "postgres" and (database in cmd or not ("(" in cmd or "[local]" in cmd)):
            snap.postgres[pid] = int(st[11]) + int(st[12])
        else:
            snap.others[pid] = sum(map(int, st[11:15])), cmd.strip() or f"[{comm}]", int(st[1])
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    snap.busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]  # user nice system irq softirq steal
    snap.total = snap.busy + f[3] + f[4]  # + idle iowait
    snap.irq = f[5] + f[6]
    return snap


@dataclass
class Run:
    """One load run: throughput, latencies, and where the CPU went (seconds)."""

    done: int
    elapsed: float
    latencies: list[float]
    requests: int
    cpu_gunicorn: float
    cpu_postgres: float
    cpu_loadgen: float
    cpu_busy: float
    cpu_total: float
    cpu_irq: float
    top_others: list[tuple[float, str]]  # the busiest other processes alive at the end
    postgres_gone: int  # our backends that exited mid-run (their CPU is not counted)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed


def drive(
    kind: str,
    client_kind: str,
    base: str,
    code: str,
    clients: int,
    seconds: float,
    procs: int,
    gunicorn_pid: int,
    database: str,
    pace: float | None = None,
) -> Run:
    """Run `clients` simulated users split over `procs` load processes for `seconds`."""
    q: mp.Queue = mp.Queue()
    ps = [
        mp.Process(
            target=load_process,
            args=(
                kind,
                client_kind,
                base,
                code,
                clients // procs,
                seconds,
                pace,
                q,
                n * (clients // procs),
            ),
        )
        for n in range(procs)
    ]
    s0 = snapshot(gunicorn_pid, database)
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    elapsed = time.perf_counter() - t0
    s1 = snapshot(gunicorn_pid, database)
    pg = sum(t - s0.postgres.get(pid, 0) for pid, t in s1.postgres.items())
    others = {pid: t - s0.others.get(pid, (0,))[0] for pid, (t, _, _) in s1.others.items()}
    for pid in set(s0.others) - set(s1.others):  # its parent reaped all of it, count the run's
        if (parent := s0.others[pid][2]) in others:
            others[parent] -= s0.others[pid][0]
    top = sorted(((t / CLK_TCK, s1.others[pid][1]) for pid, t in others.items()), reverse=True)
    return Run(
        done=sum(r[0] for r in results),
        elapsed=elapsed,
        latencies=[x for r in results for x in r[1]],
        requests=sum(r[2] for r in results),
        cpu_gunicorn=(s1.gunicorn - s0.gunicorn) / CLK_TCK,
        cpu_postgres=pg / CLK_TCK,
        cpu_loadgen=sum(r[3] for r in results),
        cpu_busy=(s1.busy - s0.busy) / CLK_TCK,
        cpu_total=(s1.total - s0.total) / CLK_TCK,
        cpu_irq=(s1.irq - s0.irq) / CLK_TCK,
        top_others=top[:3],
        postgres_gone=len(set(s0.postgres) - set(s1.postgres)),
    )


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
    ap.add_argument("--threads", type=int, default=4)  # as docker-compose.yml runs it
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--load-procs", type=int, default=2)
    ap.add_argument(
        "--paths",
        default=",".join(PATHS),
        help="which runs, comma-separated: form (no script), inline (with the page script), "
        "floor (an answer's SQL alone), optimistic (the same as two autocommit statements), "
        "ceiling",
    )
    ap.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="load generator: bench/loadgen.py (default) or the old httpx client",
    )
    args = ap.parse_args()
    paths = args.paths.split(",")
    if unknown := set(paths) - set(PATHS):
        ap.error(f"unknown --paths: {', '.join(sorted(unknown))}")
    load_at_start = os.getloadavg()

    from surveys.core.catalogue import default_catalogue
    from surveys.services import conversation
    from surveys.storage import db, store

    name, url = make_database()
    instance = tempfile.mkdtemp(prefix="yjv-bench-")
    try:
        engine = db.make_engine(url)
        db.upgrade(engine)
        with db.session_factory(engine).begin() as s:
            store.sync_priorities(s, default_catalogue())
            rnd = store.open_round(
                s,
                default_catalogue(),
                title="Bench",
                priorities=default_catalogue().priority_keys,
                audiences=["child"],
            )
            code = rnd.code
            for i in range(max(args.clients, 64)):  # the floor's respondents, one per client
                conversation.start(
                    s,
                    rnd,
                    conversation.Context(default_catalogue(), SECRET),
                    channel="web",
                    resume_key=floor_key(i),
                    audience="child",
                )
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, "
                    "answer text NOT NULL, created_at timestamptz DEFAULT now())"
                )
            )
        engine.dispose()

        results: dict[str, tuple[Run, Run]] = {}
        for kind in paths:
            app = PATHS[kind][0]
            port = free_port()
            proc = start_gunicorn(app, url, port, args.workers, args.threads, instance)
            base = f"http://127.0.0.1:{port}"
            common: dict[str, Any] = dict(
                client_kind=args.client, base=base, code=code, gunicorn_pid=proc.pid, database=name
            )
            try:
                drive(kind, clients=4, seconds=3, procs=1, **common)  # warm up
                full = drive(
                    kind,
                    clients=args.clients,
                    seconds=args.seconds,
                    procs=args.load_procs,
                    **common,
                )
                clients = max(2, args.clients // 4)
                pace = clients / (full.rate / 2)  # open loop: each client waits between requests
                half = drive(
                    kind,
                    clients=clients,
                    seconds=args.seconds,
                    procs=args.load_procs,
                    pace=pace,
                    **common,
                )
                results[kind] = (full, half)
            finally:
                stop(proc)
    finally:
        drop_database(name)

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}; "
        f"gunicorn {args.workers} workers x {args.threads} threads (gthread); "
        f"{args.clients} clients in {args.load_procs} load processes on the same machine "
        f"({args.client} client); load average at start "
        + " ".join(f"{x:.2f}" for x in load_at_start)
    )
    labels = {kind: label for kind, (_, label) in PATHS.items()}
    print()
    print("| endpoint | max rate /s | p50 ms | p95 ms | at half rate /s | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for kind, (full, half) in results.items():
        lat, hl = full.latencies, half.latencies
        print(
            f"| {labels[kind]} | {full.rate:,.0f} | {pct(lat, 50):.1f} | {pct(lat, 95):.1f} | "
            f"{half.rate:,.0f} | {pct(hl, 50):.1f} | {pct(hl, 95):.1f} |"
        )
    if "ceiling" in results:
        ceiling = results["ceiling"][0].rate
        print(
            "ratio to the ceiling: "
            + ", ".join(
                f"{kind} {full.rate / ceiling:.2f}"
                for kind, (full, _) in results.items()
                if kind != "ceiling"
            )
        )
    print()
    print(
        "CPU per answer stored (web form) or per request (floors, ceiling) in the max-rate runs, "
        "in ms; machine = busy time of all cores from /proc/stat, other = machine minus the rest."
    )
    print()
    print(
        "| run | gunicorn | PostgreSQL | load generator | other | machine | machine busy | "
        "HTTP requests per unit | load generator per HTTP request |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for kind, (run, _) in results.items():
        n = max(run.done, 1)
        other = run.cpu_busy - run.cpu_gunicorn - run.cpu_postgres - run.cpu_loadgen
        busy = run.cpu_busy / run.cpu_total if run.cpu_total else float("nan")
        print(
            f"| {labels[kind]} | {run.cpu_gunicorn / n * 1000:.2f} | "
            f"{run.cpu_postgres / n * 1000:.2f} | {run.cpu_loadgen / n * 1000:.2f} | "
            f"{other / n * 1000:.2f} | {run.cpu_busy / n * 1000:.2f} | {busy:.0%} | "
            f"{run.requests / n:.2f} | "
            f"{run.cpu_loadgen / max(run.requests, 1) * 1e6:,.0f} µs |"
        )
        top = ", ".join(f"{sec:.1f} s `{cmd[:60]}`" for sec, cmd in run.top_others if sec >= 0.1)
        notes.append(
            f"{kind} run: {run.cpu_busy:.1f} s busy of {run.cpu_total:.1f} s in "
            f"{run.elapsed:.1f} s; other: {run.cpu_irq:.1f} s in interrupts, busiest "
            f"other processes: {top or 'none'}"
        )
        if run.postgres_gone:
            notes.append(
                f"{kind} run: {run.postgres_gone} PostgreSQL backend(s) exited "
                "mid-run; their CPU is missing from the PostgreSQL column"
            )
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
