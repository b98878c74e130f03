"""Benchmark: received text messages per second end to end, through Notify and Twilio.

End to end means: a received text is POSTed to ``/hooks/sms/notify`` (JSON and the bearer
token, as Notify calls back) or ``/hooks/sms/twilio`` (a form signed with
``X-Twilio-Signature``) on gunicorn (``web:create_app()``, 2 workers x 4 threads, as in
docker-compose), the conversation state advances, the answer is committed, and the reply
is accepted by the provider's stand-in (``tests/smsapi/server.py``, in its own process)
through the real client library. The webhook answers only after all of that, so a
request's latency is the end-to-end time. Afterwards the stand-in's count of texts is
checked against the replies expected, and the database against the answers sent.

Each simulated phone texts the round's code, YES, then "1" to every question (option 1 of
a choice question; the word "1" for a free-text one) until the thank-you text, then a new
phone starts, with a number no earlier phone had; each provider has a round of its own, so
both runs have the same mix of texts. Closed loop at full rate first, then open loop at
half that rate for latency. Also printed: the parts of a full child journey, as Notify
would bill them.

    .venv/bin/python bench/bench_sms.py                   # both providers, 20 s each
    .venv/bin/python bench/bench_sms.py --seconds 5 --providers notify
    .venv/bin/python bench/bench_sms.py --worker          # a job worker on the same cores

With ``--worker`` a ``yjvoice worker`` runs alongside (same database and queue): it reads
the free-text answers with the sentence model (``analysis.assess``) while the texts come in,
so its CPU is counted per text too, and the run reports how many answers were still unread
when the closed loop ended and how long the worker took to read the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_webhook import cpu_seconds, family, machine_busy, self_cpu  # noqa: E402
from bench.loadgen import Client  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_DB = "yjv_bench_sms"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
PRIORITIES = ["policing", "education", "remands"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(providers: list[str]) -> tuple[str, dict[str, str]]:
    """Create a fresh benchmark database, migrate it, open a round per provider.

    Return the url and each provider's round code. A round of its own, and phone numbers
    no other provider's run used (``Phones``), give every provider the same mix: new
    people answering every question. (Sharing one round and one block of numbers, the
    second provider's phones found their journeys already finished and stored almost no
    answers: cheaper texts, and nothing for the worker to read.)
    """
    from sqlalchemy import create_engine, text

    from surveys.config import load_settings
    from surveys.runtime import Runtime, initialise
    from surveys.storage import store

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    instance = Path(tempfile.mkdtemp(prefix="yjv-bench-sms-"))
    rt = Runtime(
        load_settings(
            {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "YJVOICE_INSTANCE": str(instance)}
        )
    )
    initialise(rt)
    codes = {}
    with rt.transaction() as s:
        for provider in providers:
            codes[provider] = store.open_round(
                s,
                rt.catalogue,
                title=f"Bench {provider}",
                priorities=PRIORITIES,
                audiences=["child"],
            ).code
    rt.close()
    return url, codes


def backend_pids(url: str) -> list[int]:
    """Return the PostgreSQL backends serving the benchmark database (gunicorn's pool)."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as conn:
        pids = (
            conn.execute(
                text(
                    "select pid from pg_stat_activity"
                    " where datname = :d and pid <> pg_backend_pid()"
                ),
                {"d": BENCH_DB},
            )
            .scalars()
            .all()
        )
    eng.dispose()
    return list(pids)


def counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as conn:
        out = {
            t: conn.execute(text(f"select count(*) from {t}")).scalar_one()
            for t in ("answers", "inbound", "respondents", "sms_outbox")
        }
        out["unread"] = conn.execute(
            text("select count(*) from answers where assessed_at is null")
        ).scalar_one()
    eng.dispose()
    return out


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path):
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code in (200, 404):
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up")


STANDIN = """
import sys
sys.path.insert(0, {root!r})
from tests.smsapi.server import NotifyStandIn, TwilioStandIn
api = NotifyStandIn() if {provider!r} == "notify" else TwilioStandIn()
api.keep = 1000
api.serve({port})
"""


#: Ofcom's drama range has 1,000 numbers; runs take them in turn, so providers share none.
FIRST_NUMBER, NUMBERS = 447700900000, 1000
_numbers_used = 0


class Phones:
    """Simulated phones: each walks a whole journey, then the next one starts."""

    def __init__(self, provider: str, code: str, questions: int) -> None:
        from tests.smsapi.server import NOTIFY_INBOUND_TOKEN, TWILIO_TOKEN, NotifyStandIn

        self.provider, self.code, self.questions = provider, code, questions
        self.reused = 0  # numbers taken a second time (the range ran out): a different mix
        self.token = NOTIFY_INBOUND_TOKEN
        self.notify = NotifyStandIn()
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(TWILIO_TOKEN)
        self.base = ""
        self.sent = 0  # texts POSTed and answered 200
        self.failures = 0

    def new_number(self) -> str:
        global _numbers_used
        n = FIRST_NUMBER + _numbers_used % NUMBERS
        if _numbers_used >= NUMBERS:
            self.reused += 1
        _numbers_used += 1
        return f"+{n}"

    def script(self) -> list[str]:
        return [f"{self.code} child", "yes"] + ["1"] * self.questions

    async def text(self, client: Client, number: str, body: str) -> float:
        started = time.perf_counter()
        if self.provider == "notify":
            payload, headers = self.notify.callback(number, body)
            res = await client.post_json("/hooks/sms/notify", json.dumps(payload).encode(), headers)
        else:
            sid = "SM" + uuid.uuid4().hex
            form = {"MessageSid": sid, "SmsMessageSid": sid, "From": number, "To": "+447700900001",
                    "Body": body, "NumSegments": "1", "AccountSid": "AC" + "0f" * 16}  # fmt: skip
            sig = self.validator.compute_signature(self.base + "/hooks/sms/twilio", form)
            res = await client.post("/hooks/sms/twilio", form, headers={"X-Twilio-Signature": sig})
        if res.status != 200:
            self.failures += 1
        else:
            self.sent += 1
        return time.perf_counter() - started


async def closed_loop(phones: Phones, base: str, concurrency: int, seconds: float):
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        client = Client(base)
        try:
            while time.perf_counter() < stop:
                number = phones.new_number()
                for body in phones.script():
                    if time.perf_counter() >= stop:
                        break
                    latencies.append(await phones.text(client, number, body))
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def open_loop(phones: Phones, base: str, rate: float, seconds: float):
    """Send at a fixed rate; latency counts from the scheduled time (no coordinated omission)."""
    latencies: list[float] = []
    pool: list[Client] = [Client(base) for _ in range(64)]
    free = asyncio.Queue()
    for c in pool:
        free.put_nowait(c)
    journeys: list[tuple[str, list[str]]] = []
    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)

    async def one(scheduled: float, number: str, body: str, lock: asyncio.Lock) -> None:
        async with lock:  # one phone's texts in order, as a person sends them
            client = await free.get()
            try:
                await phones.text(client, number, body)
            finally:
                free.put_nowait(client)
        latencies.append(time.perf_counter() - scheduled)

    locks: dict[str, asyncio.Lock] = {}
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not journeys or not journeys[-1][1]:
            journeys.append((phones.new_number(), phones.script()))
        # Interleave 40 phones at a time.
        slot = journeys[-40:]
        number, script = slot[i % len(slot)]
        if not script:
            number, script = journeys[-1]
        if not script:
            journeys.append((phones.new_number(), phones.script()))
            number, script = journeys[-1]
        body = script.pop(0)
        lock = locks.setdefault(number, asyncio.Lock())
        tasks.append(asyncio.create_task(one(scheduled, number, body, lock)))
    await asyncio.gather(*tasks)
    for c in pool:
        await c.close()
    return total / (time.perf_counter() - start), latencies


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000 if values else 0.0


def journey_parts() -> list[tuple[str, int, int]]:
    """Return (what, characters, parts) of every text a child gets in a full journey."""
    from sms import render
    from surveys.core import engine, sms_text
    from surveys.core.catalogue import default_catalogue

    catalogue = default_catalogue()
    survey = engine.Survey("Bench", ("child",), tuple(PRIORITIES), catalogue)
    out = []
    result = engine.begin(survey, audience="child")
    state = result.state
    for text in render.texts(result.replies, "child"):
        out.append(("consent", sms_text.count(text).characters, sms_text.count(text).parts))
    result = engine.step(survey, state, engine.Inbound(text="yes"), withdrawal_code="ABCD-EFGH")
    while True:
        state = result.state
        for text in render.texts(result.replies, "child", code="ABCD-EFGH"):
            counted = sms_text.count(text)
            out.append((state.current or state.stage, counted.characters, counted.parts))
        if result.completed or state.stage == "done":
            break
        result = engine.step(survey, state, engine.Inbound(text="1"), withdrawal_code="ABCD-EFGH")
    return out


WORKER = "from yjvoice.cli import main; main(['worker', '--workers', '2'])"


def run(
    provider: str,
    url: str,
    code: str,
    seconds: float,
    concurrency: int,
    warmup: float,
    worker: bool = False,
) -> dict:
    from surveys.core.catalogue import default_catalogue
    from tests.smsapi.server import (
        NOTIFY_API_KEY,
        NOTIFY_INBOUND_TOKEN,
        NOTIFY_TEMPLATE_ID,
        TWILIO_FROM,
        TWILIO_SID,
        TWILIO_TOKEN,
    )

    questions = len(default_catalogue().questions_for(PRIORITIES, "child"))
    workdir = Path(tempfile.mkdtemp(prefix=f"yjv-bench-sms-{provider}-"))
    standin_port, web_port = free_port(), free_port()
    standin_url = f"http://127.0.0.1:{standin_port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "YJVOICE_INSTANCE": str(workdir),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "SMS_PROVIDER": provider,
        "SMS_HOURLY_CAP": "99",
        "NOTIFY_API_KEY": NOTIFY_API_KEY,
        "NOTIFY_TEMPLATE_ID": NOTIFY_TEMPLATE_ID,
        "NOTIFY_INBOUND_TOKEN": NOTIFY_INBOUND_TOKEN,
        "NOTIFY_BASE_URL": standin_url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": TWILIO_FROM,
        "TWILIO_BASE_URL": standin_url,
    }
    standin_code = STANDIN.format(root=str(ROOT), provider=provider, port=standin_port)
    gunicorn = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--worker-class", "gthread",
        "--threads", "4", "--chdir", str(ROOT), "web:create_app()",
    ]  # fmt: skip
    before = counts(url)
    reader = [sys.executable, "-c", WORKER] if worker else [sys.executable, "-c", "pass"]
    with (
        process([sys.executable, "-c", standin_code], env, workdir / "standin.log") as standin,
        process(gunicorn, env, workdir / "gunicorn.log") as web,
        process(reader, env, workdir / "worker.log") as jobs,
    ):
        wait_http(standin_url + "/_sent")
        base = f"http://127.0.0.1:{web_port}"
        wait_http(base + "/healthz")
        phones = Phones(provider, code, questions)
        phones.base = env["PUBLIC_BASE_URL"]
        # Warm up until both workers have stored answers: each loads the analysis lexicons
        # on its first answer (seconds of CPU that are not the cost of a text).
        asyncio.run(closed_loop(phones, base, 8, warmup))
        import httpx

        sent_before = httpx.get(standin_url + "/_sent").json()["sent"]
        texts_before = phones.sent
        pg = backend_pids(url)
        procs = {"gunicorn": family(web.pid), "stand-in": [standin.pid], "postgres": pg}
        if worker:
            procs["worker"] = family(jobs.pid)
        cpu0 = {k: cpu_seconds(v) for k, v in procs.items()} | {"load generator": self_cpu()}
        busy0 = machine_busy()
        rate, lat = asyncio.run(closed_loop(phones, base, concurrency, seconds))
        busy1 = machine_busy()
        cpu1 = {k: cpu_seconds(v) for k, v in procs.items()} | {"load generator": self_cpu()}
        closed_texts = phones.sent - texts_before
        unread_after_closed = counts(url)["unread"]
        load = os.getloadavg()[0]
        half_rate, half = asyncio.run(open_loop(phones, base, rate / 2, seconds))
        time.sleep(0.5)
        replies = httpx.get(standin_url + "/_sent").json()["sent"] - sent_before
        texted = phones.sent - texts_before
        drained = None
        if worker:  # how long the worker takes to read what is left (bounded)
            t0 = time.monotonic()
            while counts(url)["unread"] and time.monotonic() - t0 < 300:
                time.sleep(0.5)
            drained = round(time.monotonic() - t0, 1) if not counts(url)["unread"] else None
    after = counts(url)
    cpu_ms = {k: 1000 * (cpu1[k] - cpu0[k]) / max(1, closed_texts) for k in cpu0}
    return {
        "provider": provider,
        "cpu_ms_per_text": {k: round(v, 2) for k, v in cpu_ms.items()},
        "machine_busy": round((busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1]), 2),
        "load_average": round(load, 1),
        "rate": rate,
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "half_rate": half_rate,
        "half_p50": pct(half, 50),
        "half_p95": pct(half, 95),
        "texts_in": texted,
        "replies_out": replies,
        "failures": phones.failures,
        "outbox": after["sms_outbox"] - before["sms_outbox"],
        "answers": after["answers"] - before["answers"],
        "inbound": after["inbound"] - before["inbound"],
        "unread_after_closed_loop": unread_after_closed,
        "unread_at_end": after["unread"],
        "drain_seconds": drained,
        "phones_reused": phones.reused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring")
    parser.add_argument("--providers", default="notify,twilio")
    parser.add_argument("--worker", action="store_true", help="run a job worker alongside")
    args = parser.parse_args()
    print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or ''}")
    print(f"nproc={os.cpu_count()} python={platform.python_version()}")
    parts = journey_parts()
    print(
        f"full child journey ({len(parts)} texts out): {sum(p for _, _, p in parts)} parts, "
        f"max {max(p for _, _, p in parts)} in one text"
    )
    for what, chars, n in parts:
        print(f"  {what:32} {chars:4} chars  {n} part(s)")
    providers = args.providers.split(",")
    url, codes = prepare_database(providers)
    for provider in providers:
        r = run(
            provider, url, codes[provider], args.seconds, args.concurrency, args.warmup, args.worker
        )
        print(json.dumps(r))
        print(
            f"{provider}: {r['rate']:.0f} texts/s (p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms); "
            f"at {r['half_rate']:.0f}/s p50 {r['half_p50']:.1f} ms, p95 {r['half_p95']:.1f} ms; "
            f"{r['texts_in']} texts in, {r['replies_out']} replies at the stand-in, "
            f"{r['failures']} non-200, {r['outbox']} kept for retry; "
            f"{r['answers']} answers stored, {r['phones_reused']} numbers reused"
        )
        total = sum(r["cpu_ms_per_text"].values())
        print(
            f"  CPU per text (ms): {r['cpu_ms_per_text']} = {total:.1f} in all; "
            f"machine {r['machine_busy']:.0%} busy, load average {r['load_average']}; "
            f"2 idle cores would take about {2000 / total:.0f} texts/s"
        )


if __name__ == "__main__":
    main()
