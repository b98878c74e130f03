"""What the app trusts about the connection a request came on: its body and its proxy.

``WholeBodies`` refuses a request whose body ended before its ``Content-Length``: a form
post cut off by a dropped phone connection must not be stored as a shortened answer (its
retry, with the same submission id, would then be thrown away as a duplicate). gunicorn
hands the app whatever bytes arrived before the client went away and says the stream is
complete (``wsgi.input_terminated``); Werkzeug's ``LimitedStream`` raises
``ClientDisconnected`` (a 400) when the bytes run out early, so each body is read through
one, whatever server runs the app.

``trust_proxies`` reads the client's address, scheme and host from ``X-Forwarded-*``
headers set by a configured number of reverse proxies in front (``TRUSTED_PROXIES``), and
from nothing else: with no proxy configured, a forged ``X-Forwarded-For`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import LimitedStream

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WholeBodies:
    """WSGI middleware: read each body with its declared length, or answer 400."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Wrap the request body so that running out before Content-Length is an error."""
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length is not None and not chunked:
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], length)
            # LimitedStream now marks the end; Werkzeug applies its own size limit on top.
            environ["wsgi.input_terminated"] = True
        return self.app(environ, start_response)


def _content_length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH", "")
    if not raw or not raw.isdigit():
        return None
    return int(raw)


def trust_proxies(app: WSGIApp, hops: int) -> WSGIApp:
    """Return ``app`` reading the client's address from ``hops`` trusted proxies (0: none)."""
    if hops <= 0:
        return app
    return ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0)
