"""Slow clients cost the production server no thread: pages keep coming (issue 14, item 2).

The fault: gunicorn's threaded worker gives a connection a thread at its first byte, so a
dozen clients trickling a body held all 2 x 4 threads and every page timed out. `yjvoice
serve` runs the same gunicorn with ``web.server.BufferingWorker``, which reads requests in
its event loop and gives a thread only to one that has fully arrived. (bench/
bench_hardening.py measures the stock worker's failure and this one side by side.)
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests.live import raw_request
from web import server

TRICKLERS = 16


def trickle(port: int, stop: threading.Event) -> None:
    """Declare a 1,000-byte form post and send it one byte every half second."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(
            b"POST /r/NOPE/child HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        )
        while not stop.wait(0.5):
            try:
                s.sendall(b"a")
            except OSError:
                return


@pytest.mark.backends("postgres")  # a real server process: on PostgreSQL, as in production
def test_pages_are_served_while_sixteen_clients_trickle_bodies_and_huge_ones_are_refused(
    rt, open_round, db_url, serve_server
):
    base = serve_server  # `yjvoice serve` as it ships (tests/web/conftest.py)
    port = int(base.rsplit(":", 1)[1])
    stop = threading.Event()
    threads = [threading.Thread(target=trickle, args=(port, stop)) for _ in range(TRICKLERS)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # every trickler connected and sending
    served = 0
    paths = ["/", "/healthz", f"/r/{open_round}/child", "/admin/login"] * 6
    try:
        for path in paths:
            try:
                r = httpx.get(base + path, timeout=2)
                served += r.status_code < 500
            except httpx.TimeoutException:
                pass
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    assert served >= 0.9 * len(paths), f"{served} of {len(paths)} pages within 2 s"

    # A body over the import limit is refused before a byte of it is read.
    head = (
        "POST /r/X/child HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {server.MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    reply = raw_request(port, head.encode(), half_close=False, wait=5)
    assert reply.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("data", "state"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", server.WAIT),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", server.READY),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", server.WAIT),
        (b"POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\nabcde", server.READY),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde", server.BAD),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", server.BAD),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", server.WAIT),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "ready"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", server.TOO_LARGE),
        (b"GET /" + b"a" * (server.MAX_HEAD_BYTES + 1), server.BAD),
    ],
)
def test_a_request_is_handed_on_only_once_whole(data, state):
    assert server.request_state(data) == state


def test_serve_runs_the_same_gunicorn_as_docker_compose():
    argv = server.gunicorn_argv("0.0.0.0", 8000)
    assert argv[argv.index("--worker-class") + 1] == "web.server.BufferingWorker"
    assert argv[argv.index("--workers") + 1] == "2" and argv[argv.index("--threads") + 1] == "4"
    assert argv[-1] == "web:create_app()"
    assert server.gunicorn_argv("::", 80)[1] == "[::]:80"
