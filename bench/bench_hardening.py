"""Benchmark: production hardening (issue 14), every figure from one run, on real processes.

1. Slow clients: 16 sockets each declare a 1,000-byte form post and send it one byte every
   5 s, while one client asks for pages (/, /healthz, the form, /admin/login) one after the
   other with a 2 s limit. Three servers: gunicorn's stock threaded worker (2 x 4, as
   production ran before), `yjvoice serve` (the same gunicorn with the buffering worker),
   and nginx with deploy/nginx/ in front of the stock worker (skipped without nginx).
2. Frozen database: `yjvoice serve` on a private PostgreSQL; every server process is
   stopped with SIGSTOP; how long /healthz takes to say 503, how long / and /admin/login
   take, how long a page needing the database takes to give its error page, and how long
   the site takes to recover after SIGCONT.
3. Flood: 1,000 respondent creations from one address (8 connections at once) against
   `yjvoice serve` counting in Redis with the default FORM_START_LIMIT, while 20 young
   people on 20 other addresses open the link.

Everything runs on this machine's loopback (127.0.0.0/8); a private PostgreSQL server in
a temporary folder (never the shared one) and Redis on 127.0.0.1:6379 (keys of its own).

    .venv/bin/python bench/bench_hardening.py [--out docs/benchmarks-hardening.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from surveys.config import Settings  # noqa: E402
from surveys.runtime import Runtime, initialise  # noqa: E402
from surveys.storage import store  # noqa: E402
from tests import pgprivate  # noqa: E402
from tests.live import (  # noqa: E402
    NGINX,
    from_address,
    nginx_in_front,
    plain_gunicorn,
    server_env,
    yjvoice_serve,
)

TRICKLERS = 16
TRICKLE_EVERY = 5.0
PAGE_LIMIT = 2.0
FLOOD = 1_000
REDIS_URL = "redis://127.0.0.1:6379/0"


def trickle(port: int, stop: threading.Event) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(
            b"POST /r/NOPE/child HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        )
        while not stop.wait(TRICKLE_EVERY):
            try:
                s.sendall(b"a")
            except OSError:
                return


def pages_under_trickle(base: str, code: str, requests: int) -> tuple[int, int, float]:
    """Return (served within 2 s, asked, median seconds) while 16 clients trickle."""
    port = int(base.rsplit(":", 1)[1])
    stop = threading.Event()
    threads = [threading.Thread(target=trickle, args=(port, stop)) for _ in range(TRICKLERS)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    paths = ["/", "/healthz", f"/r/{code}/child", "/admin/login"]
    served, times = 0, []
    try:
        for i in range(requests):
            started = time.monotonic()
            try:
                r = httpx.get(base + paths[i % len(paths)], timeout=PAGE_LIMIT)
                ok = r.status_code < 500
            except httpx.HTTPError:
                ok = False
            took = time.monotonic() - started
            times.append(took)
            served += ok and took <= PAGE_LIMIT
    finally:
        stop.set()
        for t in threads:
            t.join(TRICKLE_EVERY + 5)
    times.sort()
    return served, requests, times[len(times) // 2]


def setup_round(url: str, instance: Path) -> str:
    settings = Settings(instance_path=instance, database_url=url, secret_key="b" * 48)
    rt = Runtime(settings)
    initialise(rt)
    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Bench", priorities=["policing"], audiences=["child"]
        ).code
    rt.close()
    return code


def timed_get(client: httpx.Client, path: str, timeout: float = 60) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status = client.get(path, timeout=timeout).status_code
    except httpx.HTTPError:
        status = 0
    return status, time.monotonic() - started


def redis_prefix() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception:
        return None
    return f"yjv-bench-{uuid.uuid4().hex[:8]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks-hardening.md"))
    ap.add_argument("--pages", type=int, default=40, help="page requests per server")
    args = ap.parse_args()
    problem = pgprivate.available()
    if problem:
        sys.exit(f"cannot start a private PostgreSQL server: {problem}")
    lines: list[str] = []
    say = lines.append
    work = Path(tempfile.mkdtemp(prefix="yjv-bench-hardening-"))
    try:
        with pgprivate.private_postgres() as pg:
            code = setup_round(pg.url, work)

            # 1. Slow clients.
            slow: list[tuple[str, int, int, float]] = []
            env = server_env(pg.url, work)
            with plain_gunicorn(env) as base:
                slow.append(
                    ("gunicorn stock gthread, 2 x 4", *pages_under_trickle(base, code, args.pages))
                )
            with yjvoice_serve(env) as base:
                slow.append(
                    (
                        "`yjvoice serve` (buffering worker), 2 x 4",
                        *pages_under_trickle(base, code, args.pages),
                    )
                )
            if shutil.which(NGINX):
                with plain_gunicorn(server_env(pg.url, work, TRUSTED_PROXIES="1")) as up:
                    port = int(up.rsplit(":", 1)[1])
                    with nginx_in_front(port, work / "nginx") as base:
                        slow.append(
                            (
                                "nginx (deploy/nginx) + gunicorn stock gthread",
                                *pages_under_trickle(base, code, args.pages),
                            )
                        )
            for name, served, asked, median in slow:
                print(f"slow clients: {name}: {served}/{asked} within 2 s, median {median:.2f} s")

            # 2. Frozen database.
            frozen: dict[str, float | int | str] = {}
            with yjvoice_serve(server_env(pg.url, work)) as base, httpx.Client(base_url=base) as c:
                for _ in range(4):
                    c.get("/healthz")
                    c.get(f"/r/{code}/child")
                pg.freeze()
                try:
                    healthz = [timed_get(c, "/healthz") for _ in range(5)]
                    frozen["healthz_status"] = ",".join(str(s) for s, _ in healthz)
                    frozen["healthz_first"] = healthz[0][1]
                    frozen["healthz_max"] = max(t for _, t in healthz)
                    frozen["index"] = timed_get(c, "/")[1]
                    frozen["login"] = timed_get(c, "/admin/login")[1]
                    status, took = timed_get(c, f"/r/{code}/child")
                    frozen["db_page_status"], frozen["db_page"] = status, took
                finally:
                    pg.thaw()
                started = time.monotonic()
                while c.get("/healthz", timeout=30).status_code != 200:
                    time.sleep(0.2)
                frozen["recovered"] = time.monotonic() - started
            print(f"frozen database: {frozen}")

            # 3. Flood.
            flood: dict[str, float | int] = {}
            prefix = redis_prefix()
            if prefix:
                env = server_env(
                    pg.url, work, RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix
                )
                with yjvoice_serve(env) as base:

                    def one(_: int) -> int:
                        with from_address(base, "127.0.0.2") as c:
                            return c.get(f"/r/{code}/child").status_code

                    others: list[int] = []

                    def real_people() -> None:
                        for i in range(20):
                            with from_address(base, f"127.0.1.{i + 1}") as c:
                                others.append(c.get(f"/r/{code}/child").status_code)
                            time.sleep(0.1)

                    people = threading.Thread(target=real_people)
                    started = time.monotonic()
                    people.start()
                    with ThreadPoolExecutor(8) as pool:
                        statuses = list(pool.map(one, range(FLOOD)))
                    flood["seconds"] = time.monotonic() - started
                    people.join()
                    flood["created"] = statuses.count(200)
                    flood["refused"] = statuses.count(429)
                    flood["other"] = len(statuses) - flood["created"] - flood["refused"]
                    flood["people_ok"] = others.count(200)
                    flood["people"] = len(others)
                import redis

                r = redis.Redis.from_url(REDIS_URL)
                for key in r.scan_iter(f"*{prefix}*"):
                    r.delete(key)
                r.close()
            print(f"flood: {flood}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    say("# Benchmark: production hardening (issue 14)")
    say("")
    say(
        f"Run {date.today():%Y-%m-%d} on {model}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average at the end "
        f"{os.getloadavg()[0]:.1f} (the machine is shared). `bench/bench_hardening.py`, one run."
    )
    say("")
    say("## Pages served within 2 s while 16 clients trickle bodies (goal >= 90%)")
    say("")
    say(
        "16 sockets each declare a 1,000-byte form post and send one byte every 5 s; one "
        "client asks for /, /healthz, the form and /admin/login in turn, 2 s allowed each."
    )
    say("")
    say("| server | within 2 s | median |")
    say("|---|---|---|")
    for name, served, asked, median in slow:
        say(f"| {name} | {served} of {asked} ({served / asked:.0%}) | {median:.2f} s |")
    say("")
    say("## A frozen database (goal: /healthz reports it within 2 s)")
    say("")
    say("Every process of a private PostgreSQL server stopped with SIGSTOP under `yjvoice serve`.")
    say("")
    if frozen:
        say("| what | result |")
        say("|---|---|")
        say(f"| /healthz, first check | {frozen['healthz_first']:.2f} s |")
        say(
            f"| /healthz, slowest of 5 | {frozen['healthz_max']:.2f} s "
            f"(statuses {frozen['healthz_status']}) |"
        )
        say(f"| / (no database) | {frozen['index']:.2f} s |")
        say(f"| /admin/login (no database) | {frozen['login']:.2f} s |")
        say(
            f"| the form (needs the database) | {frozen['db_page_status']} "
            f"after {frozen['db_page']:.2f} s |"
        )
        say(f"| back to 200 after SIGCONT | {frozen['recovered']:.2f} s |")
    say("")
    say("## A flood of 1,000 respondent creations from one address")
    say("")
    if flood:
        say(
            f"`yjvoice serve`, counts in Redis, default FORM_START_LIMIT "
            f"({Settings.form_start_limit}); 8 connections at once from 127.0.0.2, while 20 "
            f"people on 20 other addresses open the link."
        )
        say("")
        say("| what | result |")
        say("|---|---|")
        say(f"| respondents created by the flood | {flood['created']} |")
        say(f"| refused (429) | {flood['refused']} (other statuses: {flood['other']}) |")
        say(f"| flood duration | {flood['seconds']:.1f} s |")
        say(
            f"| people on other addresses who started | {flood['people_ok']} of {flood['people']} |"
        )
    else:
        say("Skipped: Redis was not reachable on 127.0.0.1:6379.")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
