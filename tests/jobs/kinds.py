"""Job kinds for the tests only; a real worker process started by a test loads them too."""

from __future__ import annotations

import os
import time
from pathlib import Path

from surveys import jobs

#: (kind, attempt) of every run in this process.
CALLS: list[tuple[str, int]] = []


@jobs.job("test.echo", max_attempts=3, backoff=jobs.Backoff(first=10, cap=60))
def echo(ctx: jobs.Context, value: int, fail_times: int = 0) -> dict:
    """Fail the first ``fail_times`` attempts, then return the value."""
    CALLS.append(("test.echo", ctx.attempt))
    if ctx.attempt <= fail_times:
        raise RuntimeError(f"boom on attempt {ctx.attempt}")
    return {"value": value}


@jobs.job("test.later", max_attempts=1)
def later(ctx: jobs.Context, until: str) -> dict:
    """Defer until an ISO time (quiet hours), then finish."""
    from datetime import datetime

    CALLS.append(("test.later", ctx.attempt))
    when = datetime.fromisoformat(until)
    if ctx.now() < when:
        raise jobs.Defer("quiet hours", at=when)
    return {"sent": True}


@jobs.job("test.steps", max_attempts=3)
def steps(ctx: jobs.Context, total: int, crash_at: int | None = None) -> dict:
    """Do ``total`` steps with progress; crash once at ``crash_at`` (first attempt only)."""
    done = list(ctx.saved.get("done", []))
    for step in range(total):
        if step in done:
            continue
        if crash_at == step and ctx.attempt == 1:
            raise RuntimeError("crashed mid-way")
        CALLS.append(("test.steps", step))
        done.append(step)
        ctx.progress(len(done), total, result={"done": done})
    return {"done": done}


@jobs.job("test.gate", max_attempts=3)
def gate(ctx: jobs.Context, folder: str) -> dict:
    """Say it started (a file named after this process), wait for a go file, say it finished."""
    where = Path(folder)
    (where / f"started-{os.getpid()}-{ctx.attempt}").touch()
    deadline = time.monotonic() + 180
    while not (where / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never said go")
        time.sleep(0.05)
    (where / f"done-{os.getpid()}").touch()
    return {"pid": os.getpid()}


@jobs.job("test.flaky", max_attempts=3, backoff=jobs.Backoff(first=1, cap=2))
def flaky(ctx: jobs.Context, value: int) -> dict:
    """Fail the first attempt, then return the value (a short back-off, for real workers)."""
    if ctx.attempt == 1:
        raise RuntimeError("boom on attempt 1")
    return {"value": value}
