"""nginx in front, as docker compose runs it: the repository's config on Debian's nginx.

With the proxy buffering whole requests, even gunicorn's stock threaded worker keeps
serving pages while 16 clients trickle bodies; the proxy refuses bodies over the import
limit; and the app counts each client by the address nginx saw (``TRUSTED_PROXIES=1``),
never by an ``X-Forwarded-For`` the client wrote itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time

import httpx
import pytest

from tests.live import (
    NGINX,
    from_address,
    nginx_in_front,
    plain_gunicorn,
    raw_request,
    server_env,
)
from tests.web.test_slow_clients import TRICKLERS, trickle
from web import server

# A real server process per test: on PostgreSQL, as in production, to keep the suite quick.
pytestmark = pytest.mark.backends("postgres")


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


@pytest.fixture
def nginx():
    if not shutil.which(NGINX):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("nginx is required under CI (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    return NGINX


def test_nginx_in_front_buffers_slow_clients_caps_bodies_and_names_the_real_client(
    nginx, rt, open_round, db_url, tmp_path, redis_env
):
    env = server_env(
        db_url, tmp_path, TRUSTED_PROXIES="1", FORM_START_LIMIT="3 per minute", **redis_env
    )
    with plain_gunicorn(env) as upstream, nginx_in_front(_port(upstream), tmp_path / "ng") as base:
        port = int(base.rsplit(":", 1)[1])

        # 1. Sixteen clients trickle bodies at nginx: the stock worker never sees them.
        stop = threading.Event()
        threads = [threading.Thread(target=trickle, args=(port, stop)) for _ in range(TRICKLERS)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        served = 0
        paths = ["/", "/healthz", "/admin/login"] * 6
        try:
            for path in paths:
                with contextlib.suppress(httpx.TimeoutException):
                    served += httpx.get(base + path, timeout=2).status_code == 200
        finally:
            stop.set()
            for t in threads:
                t.join(5)
        assert served >= 0.9 * len(paths), f"{served} of {len(paths)} pages within 2 s"

        # 2. A body over the import limit is refused by nginx itself. (The reply's head is
        # enough: nginx then waits up to its lingering_timeout, 5 s, for a body that never
        # comes before it closes the connection.)
        too_big = server.MAX_BODY_BYTES + 1
        head = f"POST /r/X/child HTTP/1.1\r\nHost: x\r\nContent-Length: {too_big}\r\n\r\n"
        reply = raw_request(port, head.encode(), half_close=False, wait=5, until=b"\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 413")

        # 3. Forged X-Forwarded-For headers do not make one address many...
        statuses = []
        for i in range(5):
            with from_address(base, "127.0.0.6") as c:
                c.headers["X-Forwarded-For"] = f"10.9.8.{i}"
                statuses.append(c.get(f"/r/{open_round}/child").status_code)
        assert statuses == [200, 200, 200, 429, 429]
        # ... while a client at another address, seen through the proxy, starts fine.
        with from_address(base, "127.0.0.7") as c:
            assert c.get(f"/r/{open_round}/child").status_code == 200
