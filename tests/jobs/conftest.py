"""Fixtures for the job queue: a real Redis on 127.0.0.1:6379 and worker processes."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import IN_CI

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_problem() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
        return None
    except Exception as exc:  # any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc)[:200]}"


@pytest.fixture
def redis_queue_url():
    """Return a Redis queue URL with a queue name of its own; empty that queue after."""
    problem = _redis_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"Redis is required under CI but not reachable: {problem}")
        pytest.skip(f"Redis not reachable ({problem})")
    url = f"{REDIS_URL}?queue=yjv-test-{uuid.uuid4().hex[:10]}"
    yield url
    from surveys.jobs.broker import make_huey

    make_huey(url, "cleanup-only-secret-0123456789abcdef").storage.flush_all()
