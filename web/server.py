"""The production web server: gunicorn, with a worker that makes slow clients cost nothing.

``yjvoice serve`` and docker compose's ``web`` service both run ``gunicorn_argv()``.

gunicorn's threaded worker hands a connection to a thread as soon as its first byte
arrives; the thread then reads the rest of the request. A dozen clients sending a body one
byte every few seconds therefore hold every thread, and every page (``/healthz`` too)
waits behind them. ``BufferingWorker`` reads each request in its event loop, without a
thread, and hands it to a thread only once it has arrived whole, as a buffering reverse
proxy does. A request whose headers take longer than ``HEADER_TIMEOUT`` seconds, or whose
body stalls for ``BODY_IDLE_TIMEOUT``, is answered 408 and closed; one whose client goes
away before its body is complete is answered 400 and never reaches the app; one declaring
a body over ``MAX_BODY_BYTES`` is answered 413 unread. Production still puts nginx in
front (docker-compose.yml, deploy/nginx/): TLS, and the same limits before a byte reaches
Python.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import socket
import sys
import time
from dataclasses import dataclass, field

from gunicorn.workers.gthread import TConn, ThreadWorker

#: The process layout both ``yjvoice serve`` and docker compose's ``web`` service run.
WORKERS = 2
THREADS = 4
#: Seconds a worker may go silent before gunicorn replaces it; seconds to finish requests
#: on a graceful restart; seconds an idle keep-alive connection stays open.
TIMEOUT = 30
GRACEFUL_TIMEOUT = 20
KEEPALIVE = 5
#: Seconds a client has to send its request headers, and may stay silent within a body.
HEADER_TIMEOUT = 10
BODY_IDLE_TIMEOUT = 20
#: The largest body read: the import limit (50 MiB) plus its slack for the form's framing
#: (``web.admin.imports.REQUEST_SLACK``); nginx's ``client_max_body_size`` is the same.
MAX_BODY_BYTES = 51 * 1024 * 1024
#: Headers larger than this are handed to gunicorn's parser, which refuses them.
MAX_HEAD_BYTES = 64 * 1024
APP = "web:create_app()"


def gunicorn_argv(host: str, port: int) -> list[str]:
    """Return gunicorn's command line arguments for serving the app on host:port."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        "--bind",
        bind,
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--worker-class",
        "web.server.BufferingWorker",
        "--timeout",
        str(TIMEOUT),
        "--graceful-timeout",
        str(GRACEFUL_TIMEOUT),
        "--keep-alive",
        str(KEEPALIVE),
        APP,
    ]


def command(host: str, port: int) -> list[str]:
    """Return the whole command that runs the production server with this Python."""
    return [sys.executable, "-m", "gunicorn", *gunicorn_argv(host, port)]


# --- deciding whether a request has arrived whole ------------------------------------------

WAIT, READY, TOO_LARGE, BAD = "wait", "ready", "too large", "bad"


def request_state(buf: bytes | bytearray, max_body: int = MAX_BODY_BYTES) -> str:
    """Return READY when ``buf`` holds a whole request, WAIT while more is due.

    TOO_LARGE: its Content-Length is over ``max_body``. BAD: its framing cannot be read
    here (gunicorn's parser then gets it, and answers it properly).
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return BAD if len(buf) > MAX_HEAD_BYTES else WAIT
    lengths: list[bytes] = []
    chunked = False
    for line in bytes(buf[:end]).split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            chunked = chunked or b"chunked" in value.lower()
    body = len(buf) - (end + 4)
    if chunked:
        # The last chunk is "0" and an empty line (trailers are rare; a false "ready" only
        # costs the protection, not correctness: gunicorn's parser reads what is missing).
        return READY if bytes(buf[-5:]) == b"0\r\n\r\n" and body >= 5 else WAIT
    if not lengths:
        return READY
    if len(lengths) > 1 or not lengths[0].isdigit():
        return BAD
    length = int(lengths[0])
    if length > max_body:
        return TOO_LARGE
    return READY if body >= length else WAIT


def _response(status: str, text: str) -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


REFUSALS = {
    "timeout": _response("408 Request Timeout", "The request took too long to arrive.\n"),
    "short": _response("400 Bad Request", "The request ended before its body was complete.\n"),
    TOO_LARGE: _response("413 Content Too Large", "That was too much to send in one go.\n"),
}


@dataclass
class _Arriving:
    """A request whose bytes are still arriving."""

    started: float
    last: float
    buf: bytearray = field(default_factory=bytearray)
    headers_done: bool = False


class BufferingWorker(ThreadWorker):
    """gunicorn's gthread worker, giving a thread only to a request that has fully arrived."""

    def init_process(self) -> None:
        """Set up the table of requests still arriving, then run as gthread does."""
        self._arriving: dict[TConn, _Arriving] = {}
        super().init_process()

    def run(self) -> None:
        """Serve as gthread does until stopped; then leave the heap (the whole app) out of the
        collector's passes at the interpreter's exit, which took about half a second of CPU
        after every stop; reference counting still closes what the worker holds."""
        super().run()
        gc.freeze()

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """Read what has arrived; hand the request to a thread once it is whole."""
        if self.cfg.is_ssl or (conn.initialized and _has_leftovers(conn)):
            super().on_client_socket_readable(conn, client)  # gunicorn's own path
            return
        now = time.monotonic()
        arriving = self._arriving.get(conn)
        if arriving is None:
            if conn.initialized:  # a kept-alive connection starts its next request
                with self._lock:
                    try:
                        self._keep.remove(conn)
                    except ValueError:
                        return  # closed meanwhile as idle
            arriving = self._arriving[conn] = _Arriving(started=now, last=now)
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn, "short" if arriving.buf else None)
            return
        arriving.buf += data
        arriving.last = now
        state = request_state(arriving.buf)
        arriving.headers_done = state != WAIT or b"\r\n\r\n" in arriving.buf
        if state == WAIT:
            return
        if state == TOO_LARGE:
            self._drop(conn, TOO_LARGE)
            return
        del self._arriving[conn]
        with self._lock:
            self.poller.unregister(conn.sock)
        conn.init()
        conn.parser.unreader.unread(bytes(arriving.buf))
        self._wrap_future(self.tpool.submit(self.handle, conn), conn)

    def murder_keepalived(self) -> None:
        """Close idle kept-alive connections, and requests arriving too slowly."""
        super().murder_keepalived()
        now = time.monotonic()
        for conn, arriving in list(self._arriving.items()):
            late = not arriving.headers_done and now - arriving.started > HEADER_TIMEOUT
            if late or now - arriving.last > BODY_IDLE_TIMEOUT:
                self._drop(conn, "timeout")

    def _drop(self, conn: TConn, refusal: str | None) -> None:
        """Stop watching a connection, tell its client why (if it listens) and close it."""
        self._arriving.pop(conn, None)
        with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        if refusal is not None:
            try:
                conn.sock.send(REFUSALS[refusal])  # non-blocking: best effort only
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EPIPE, errno.ECONNRESET):
                    self.log.debug("could not send refusal: %s", exc)
        conn.close()


def _has_leftovers(conn: TConn) -> bool:
    """Return True when bytes of an earlier request are still buffered or unread.

    Then gunicorn's own path reads them (pipelining, or a body the app did not read).
    """
    parser = conn.parser
    if parser is None:
        return False
    if parser.unreader.buf.getvalue():
        return True
    mesg = parser.mesg
    if mesg is None:
        return False
    reader = mesg.body.reader
    return bool(getattr(reader, "length", 0)) or getattr(reader, "parser", None) is not None
