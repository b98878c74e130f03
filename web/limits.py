"""Rate limits: sign-in, withdrawal codes and the public form, counted in one shared store.

One Flask-Limiter per app keeps every count in ``RATELIMIT_STORAGE_URI``: Redis in
production, so that every gunicorn worker (and every web container) shares the counts;
``memory://`` (per process) on the embedded default. Counts are keyed on the client's real
address, which ``web.transport.trust_proxies`` reads from the trusted proxy's headers.

Only the views given to ``throttle`` pass through the limiter's per-request hook; the
public form asks ``allow`` itself, at the points where a respondent is created or an answer
is taken, so that no other request pays for a limit it does not have.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

if TYPE_CHECKING:
    from flask.typing import RouteCallable

log = logging.getLogger("yjvoice.web.limits")


def client_address() -> str:
    """Return the client's address (the trusted proxy's view of it, when one is in front)."""
    return get_remote_address()


def limiter(app: Flask) -> Limiter:
    """Return the app's limiter, creating it on first use."""
    lim = app.extensions.get("yjv_limiter")
    if lim is None:
        settings = app.config["YJV_SETTINGS"]
        lim = Limiter(
            client_address,
            storage_uri=settings.ratelimit_storage_uri,
            strategy="moving-window",
            key_prefix=settings.ratelimit_key_prefix,
            # A storage outage must not take sign-in or the form down with it: limits then
            # stop counting (and say so in the log) until the storage is back.
            swallow_errors=True,
        )
        lim.init_app(app)
        limited: set[str] = set()
        app.extensions["yjv_limited"] = limited
        lim.request_filter(lambda: request.endpoint not in limited)
        app.extensions["yjv_limiter"] = lim
    return lim


def throttle(app: Flask, endpoint: str, limit: Any, **kwargs: Any) -> None:
    """Rate-limit one view by client address (sign-in, withdrawal codes)."""
    lim = limiter(app)
    app.extensions["yjv_limited"].add(endpoint)
    view = app.view_functions[endpoint]
    # The limiter's wrapper returns what the view returns; mypy cannot carry Flask's
    # sync-or-async view type through its generic decorator, so say it here.
    app.view_functions[endpoint] = cast("RouteCallable", lim.limit(limit, **kwargs)(view))


def allow(scope: str, limit: str, key: str) -> bool:
    """Count one event for ``key`` in ``scope``; return False when it is over ``limit``.

    ``limit`` may hold several limits separated by ";" (all must allow the event). A
    storage that cannot be reached allows the event: the form keeps working.
    """
    strategy = limiter(current_app).limiter
    prefix = current_app.config["YJV_SETTINGS"].ratelimit_key_prefix
    try:
        return all(strategy.hit(item, prefix, scope, key) for item in parse_many(limit))
    except Exception as exc:  # the storage is down: count nothing rather than refuse all
        log.warning(
            "rate-limit storage unavailable (%s); %s not counted", type(exc).__name__, scope
        )
        return True


def within(scope: str, limit: str, key: str) -> bool:
    """Return True while ``key`` is within ``limit`` in ``scope`` (counting nothing)."""
    strategy = limiter(current_app).limiter
    prefix = current_app.config["YJV_SETTINGS"].ratelimit_key_prefix
    try:
        return all(strategy.test(item, prefix, scope, key) for item in parse_many(limit))
    except Exception as exc:  # the storage is down: as in allow()
        log.warning(
            "rate-limit storage unavailable (%s); %s not checked", type(exc).__name__, scope
        )
        return True
