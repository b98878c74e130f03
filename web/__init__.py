"""The Flask app: the respondent web form, plus the blueprints other adapters add.

``create_app(config=None)`` builds one app around one ``Runtime`` (settings, database
engine, question banks). Each request gets at most one SQLAlchemy session (``db()``),
closed on teardown and rolled back on error. Every response carries strict security
headers; no page uses inline script or style, so the CSP allows neither.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Flask, current_app, g, request
from flask_wtf.csrf import CSRFProtect
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from surveys.config import load_settings
from surveys.runtime import Runtime
from web import errors, i18n
from web.errors import error_page  # noqa: F401  (views import it from here)
from web.limits import limiter, throttle  # noqa: F401  (views import throttle from here)
from web.transport import WholeBodies, trust_proxies

log = logging.getLogger("yjvoice.web")
csrf = CSRFProtect()

# A 10,000-character answer of emoji is ~120 KB once form-encoded; it must reach the
# engine (which answers "please shorten it"), not bounce off a bare 413.
MAX_FORM_BYTES = 256 * 1024
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",  # web/static/form.js posts answers with fetch()
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class _CompiledTemplates(BytecodeCache):
    """Templates compiled once per process and shared by every app built in it.

    A server builds one app per process, so this changes nothing there; the test suite
    builds one per test (about a thousand), and compiling the same templates again for
    each cost about 8 ms a template, the largest part of a page test. A template whose
    source changed (its checksum) is compiled again.
    """

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, Any]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        hit = self._code.get(bucket.key)
        if hit is not None and hit[0] == bucket.checksum:
            bucket.code = hit[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


_COMPILED_TEMPLATES = _CompiledTemplates()


def runtime() -> Runtime:
    """Return the current app's Runtime (settings, database engine, question banks)."""
    return current_app.extensions["yjvoice"]


def db() -> Session:
    """Return this request's database session, opening it on first use."""
    if "yjv_db" not in g:
        g.yjv_db = runtime().sessions()
    return g.yjv_db


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the web app; ``config`` may carry ``YJV_SETTINGS`` (a surveys Settings)."""
    app = Flask(__name__)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    config = dict(config or {})
    settings = config.get("YJV_SETTINGS") or load_settings()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="yjv_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        # A young person may leave a page open for hours; a token tied to the session
        # cookie (SameSite=Lax) for a day is still safe and far kinder than an hour.
        WTF_CSRF_TIME_LIMIT=24 * 3600,
        # The strict check compares the Referer with the host, but Referrer-Policy
        # no-referrer means browsers send none; the token plus SameSite cookies protect.
        WTF_CSRF_SSL_STRICT=False,
        RESUME_COOKIE_SECURE=settings.production,
    )
    app.config.update(config)
    app.config["YJV_SETTINGS"] = settings
    app.extensions["yjvoice"] = Runtime(settings, bounded_statements=True)
    # Outermost first: the proxy's view of the client, then bodies read to their length.
    # Flask's documented way to add WSGI middleware; mypy reads it as replacing a method
    # with a callable of another type (it accepts only class instances there).
    app.wsgi_app = trust_proxies(  # type: ignore[method-assign,assignment]
        WholeBodies(app.wsgi_app), settings.trusted_proxies
    )
    if settings.production and settings.ratelimit_storage_uri.startswith("memory://"):
        log.warning("RATELIMIT_STORAGE_URI is memory://: each server process counts alone")
    # Flagged answers (from the form or the Telegram webhook) queue safeguarding alerts.
    from surveys.notify import alerts

    alerts.install(settings)
    # Jobs queued by a request (alerts, themes for a round) go to the worker on commit;
    # JOBS_IMMEDIATE (unit tests only) runs them in the request instead.
    from surveys.jobs import broker

    runtime_ = app.extensions["yjvoice"]
    broker.configure(settings, runtime_.sessions, immediate=bool(config.get("JOBS_IMMEDIATE")))

    csrf.init_app(app)
    i18n.init_app(app)
    limiter(app)  # before any request: the form counts starts and answers through it
    _register_blueprints(app)
    errors.init_app(app)
    app.before_request(_pin_catalogue)
    app.teardown_request(_unpin_catalogue)
    app.teardown_appcontext(_close_db)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"danger": runtime().texts.get("danger", None, i18n.current())})
    app.add_url_rule("/healthz", "healthz", _healthz)
    return app


def _register_blueprints(app: Flask) -> None:
    from web import admin, auth, changes, hooks, privacy, proposals, public, withdraw
    from web.admin.nav import admin_nav

    app.register_blueprint(public.bp)
    app.register_blueprint(changes.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(proposals.bp)
    auth.init_app(app)
    app.register_blueprint(admin.bp)
    app.jinja_env.globals["admin_nav"] = admin_nav
    app.register_blueprint(withdraw.bp)
    csrf.exempt(hooks.bp)
    app.register_blueprint(hooks.bp)


def _pin_catalogue() -> None:
    """Read the catalogue once per request: every use in it sees the same questions."""
    if request.endpoint != "static":
        g.yjv_catalogue = runtime().catalogues.pin()


def _unpin_catalogue(exc: BaseException | None) -> None:
    token = g.pop("yjv_catalogue", None)
    if token is not None:
        runtime().catalogues.unpin(token)


def _close_db(exc: BaseException | None) -> None:
    session = g.pop("yjv_db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def rollback() -> None:
    """Roll back this request's session, if it opened one."""
    session = g.get("yjv_db")
    if session is not None:
        session.rollback()


#: Seconds /healthz waits for the database before it reports it unavailable.
HEALTH_WAIT = 1.5


class _HealthProbe:
    """Ask the database for ``SELECT 1`` in a thread of its own, waiting a bounded time.

    At most one probe is in flight per process: while the database hangs, later checks
    answer "unavailable" at once instead of piling up threads behind the first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # made on first use (after fork)
        self._pending: Future | None = None

    def check(self, engine: Any, wait: float) -> str | None:
        """Return None when the database answered within ``wait`` s, else what went wrong."""
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return "still waiting for an earlier check"
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="yjv-health")
            self._pending = future = self._pool.submit(self._select_one, engine)
        try:
            future.result(timeout=wait)
        except FutureTimeout:
            return f"no answer within {wait:g} s"
        except Exception as exc:
            return type(exc).__name__
        return None

    @staticmethod
    def _select_one(engine: Any) -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def _healthz() -> Response:
    """Answer 200 "ok" when the database answers within HEALTH_WAIT s, else 503."""
    probe = current_app.extensions.setdefault("yjv_health", _HealthProbe())
    problem = probe.check(runtime().database, HEALTH_WAIT)
    if problem is not None:
        log.error("health check: database unavailable (%s)", problem)
        return Response("database unavailable\n", 503, mimetype="text/plain")
    return Response("ok\n", 200, mimetype="text/plain")


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith("/r/") or response.status_code >= 400:
        # Answers-in-progress must not linger in a shared phone's cache or back history.
        response.headers["Cache-Control"] = "no-store"
    return response
