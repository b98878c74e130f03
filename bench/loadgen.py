"""A small, dependency-free asyncio HTTP/1.1 client for loopback benchmarks.

One keep-alive connection and one cookie jar per simulated client, optional redirects. It
does only what the benchmarks need, so the load generator burns as little CPU as possible:
on a shared machine every cycle it takes is stolen from the server being measured. No TLS,
proxies or compression; cookies ignore Path and Domain (a simulated client's requests all
go under the same prefix).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import urlencode, urljoin, urlsplit

MAX_REDIRECTS = 5
MAX_CHUNKS = 100_000
NO_BODY = (204, 304)
REDIRECTS = (301, 302, 303, 307, 308)


class Response(NamedTuple):
    """Status code, headers (names lowercased, repeated ones joined by ", "; the cookie jar
    reads each Set-Cookie on its own), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (what the benchmarked apps send)."""
        return self.body.decode("utf-8", "replace")


class Client:
    """One simulated user: one keep-alive connection to `base` and its own cookie jar."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.netloc, self.prefix = url.netloc, url.path.rstrip("/")
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.requests = 0  # requests sent, retries included
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._answered = False  # some of the current response has arrived

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def clear_cookies(self) -> None:
        """Forget every cookie, as a new browser would."""
        self.cookies.clear()

    async def get(self, path: str, follow_redirects: bool = False) -> Response:
        """GET `path` (relative to the base URL)."""
        return await self.request("GET", path, follow_redirects=follow_redirects)

    async def post(
        self,
        path: str,
        form: dict[str, str],
        follow_redirects: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """POST `form` as application/x-www-form-urlencoded."""
        return await self.request("POST", path, urlencode(form).encode(), follow_redirects, headers)

    async def post_json(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> Response:
        """POST a JSON body (already encoded)."""
        return await self.request(
            "POST", path, body, False, {"Content-Type": "application/json", **(headers or {})}
        )

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        follow_redirects: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request; with `follow_redirects`, follow up to MAX_REDIRECTS redirects.
        `headers` go with the first request only (as fetch() sends them)."""
        res = await self._send(method, path, body, headers)
        for _ in range(MAX_REDIRECTS if follow_redirects else 0):
            if res.status not in REDIRECTS or "location" not in res.headers:
                return res
            loc = urlsplit(urljoin(path, res.headers["location"]))
            if loc.netloc and loc.netloc != self.netloc:
                raise ValueError(f"redirect off this server: {res.headers['location']}")
            path = loc.path + (f"?{loc.query}" if loc.query else "")
            if res.status in (301, 302, 303) and method != "HEAD":
                method, body = "GET", b""
            res = await self._send(method, path, body)
        if follow_redirects and res.status in REDIRECTS:
            raise RuntimeError(f"more than {MAX_REDIRECTS} redirects")
        return res

    async def _send(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> Response:
        """One exchange; if a reused connection turns out closed, reconnect and retry once."""
        target = path if path.startswith(self.prefix + "/") else self.prefix + path
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.netloc}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if body or method == "POST":
            if not headers or "Content-Type" not in headers:
                head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        if self.cookies:
            head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        raw = head.encode("latin-1") + b"\r\n" + body
        for attempt in (1, 2):
            reused, self._answered = self._writer is not None, False
            try:  # asyncio.timeout, not wait_for: on 3.11 wait_for wraps each call in a new
                async with asyncio.timeout(self.timeout):  # Task: 10-30 µs more a request
                    return await self._exchange(raw, method)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                # Only a kept-alive connection the server had already given up on, before
                # any byte of the answer, is retried: the server never saw the request.
                if attempt == 2 or not reused or self._answered:
                    raise
            except BaseException:
                await self.close()  # a half-read response would poison the connection
                raise
        raise AssertionError("unreachable")

    async def _exchange(self, raw: bytes, method: str) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        self.requests += 1
        writer.write(raw)
        await writer.drain()
        block = await reader.readuntil(b"\r\n\r\n")  # at most the stream limit, 64 KiB
        self._answered = True
        lines = block.decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers: dict[str, str] = {}
        for line in lines[1:-2]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._store_cookie(value)
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        code = int(status)
        if method == "HEAD" or code in NO_BODY or code < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:  # delimited by the server closing the connection
            body, headers["connection"] = await reader.read(), "close"
        conn = headers.get("connection", "").lower()
        if "close" in conn or (version == "HTTP/1.0" and "keep-alive" not in conn):
            await self.close()
        return Response(code, headers, body)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        for _ in range(MAX_CHUNKS):
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                for _ in range(100):  # trailers, up to the blank line
                    if (await reader.readline()) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise ValueError("too many trailer lines")
            parts.append((await reader.readexactly(size + 2))[:-2])
        raise ValueError("too many chunks")

    def _store_cookie(self, header: str) -> None:
        """Keep name=value from one Set-Cookie header, or drop the cookie if it expired."""
        pair, *attrs = header.split(";")
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            return
        opts = {k.strip().lower(): v.strip() for k, _, v in (a.partition("=") for a in attrs)}
        expired = False
        if "max-age" in opts:  # Max-Age wins over Expires
            expired = opts["max-age"].lstrip("-").isdigit() and int(opts["max-age"]) <= 0
        elif "expires" in opts:
            with contextlib.suppress(TypeError, ValueError):
                expired = parsedate_to_datetime(opts["expires"]).timestamp() <= time.time()
        if expired:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value.strip()
