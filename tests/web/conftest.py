"""Web fixtures: the Flask app on the test database (SQLite and PostgreSQL), its client, and
one headless Chromium per test process for the browser tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveys.services.accounts import check_password_rules, hash_password
from surveys.storage.models import Answer, User
from tests.conftest import make_settings
from tests.live import server_env, yjvoice_serve
from web import create_app


@pytest.fixture
def app(rt, db_url, tmp_path):
    """Return the web app on the test database (priorities loaded through ``rt``)."""
    app = create_app({"YJV_SETTINGS": make_settings(tmp_path, db_url), "TESTING": True})
    yield app
    app.extensions["yjvoice"].close()  # the engines it opened, if any


@pytest.fixture
def client(app):
    """Return a test client (a fresh browser: no cookies)."""
    return app.test_client()


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.buttons: list[tuple[str, str, str]] = []  # (name, value, label)
        self._button: dict[str, str] | None = None
        self._label: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button, self._label = a, []

    def handle_data(self, data):
        if self._button is not None:
            self._label.append(data)

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            b = self._button
            self.buttons.append((b.get("name", ""), b.get("value", ""), "".join(self._label)))
            self._button = None


def form_of(html: str) -> _FormReader:
    """Parse a page's form: hidden fields and submit buttons."""
    reader = _FormReader()
    reader.feed(html)
    return reader


def hidden_fields(html: str) -> dict[str, str]:
    """Return a page's hidden fields: csrf_token, submission and question."""
    return form_of(html).hidden


def count(rt, model, **where) -> int:
    """Count rows of a model, optionally filtered by column values."""
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    with rt.transaction() as session:
        return session.scalar(stmt)


def live_answers(rt) -> list[tuple[str, str]]:
    """Return (question_id, text) of every current answer, oldest first."""
    with rt.transaction() as session:
        rows = session.execute(
            select(Answer.question_id, Answer.text)
            .where(Answer.superseded.is_(False))
            .order_by(Answer.id)
        )
        return [tuple(r) for r in rows]


STAFF_PASSWORD = "correct horse battery staple"
ROLES = ("lead", "reviewer", "safeguarding", "viewer")
STAFF_EMAILS = {role: f"{role}@yjs.example.org" for role in ROLES}


@pytest.fixture(scope="session")
def staff_password_hash() -> str:
    """Return the hash of STAFF_PASSWORD, checked against the password rules once."""
    for email in STAFF_EMAILS.values():
        check_password_rules(STAFF_PASSWORD, [email])
    return hash_password(STAFF_PASSWORD)


@pytest.fixture
def staff(rt, staff_password_hash):
    """Create one account per role; return {role: email}.

    The rows are what ``upsert_user`` writes for a new account, less its password check
    (about 10 ms an account, four accounts in each of several hundred tests).
    """
    with rt.transaction() as session:
        for role, email in STAFF_EMAILS.items():
            session.add(User(email=email, password_hash=staff_password_hash, role=role))
    return dict(STAFF_EMAILS)


def sign_in(client, email: str, password: str = STAFF_PASSWORD):
    """Sign a test client in through the real form; return the response."""
    page = client.get("/admin/login")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    return client.post(
        "/admin/login", data={"csrf_token": token, "email": email, "password": password}
    )


@pytest.fixture
def as_role(app, staff):
    """Return a function giving a signed-in client for a role."""

    def make(role: str):
        c = app.test_client()
        res = sign_in(c, staff[role])
        assert res.status_code == 302, res.get_data(as_text=True)[:500]
        return c

    return make


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> str:
    """Return the Redis URL, skipping locally (failing under CI) when it is down."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Redis is required under CI but not reachable: {exc}")
        pytest.skip(f"Redis not reachable ({exc})")
    return REDIS_URL


@contextmanager
def redis_keys() -> Iterator[dict[str, str]]:
    """Yield server settings that count rate limits in Redis under keys of their own; delete
    those keys after."""
    import redis

    url = redis_or_skip()
    prefix = f"yjv-test-{uuid.uuid4().hex[:8]}"
    yield {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    r = redis.Redis.from_url(url)
    for key in r.scan_iter(f"*{prefix}*"):
        r.delete(key)
    r.close()


@pytest.fixture
def redis_env():
    """Return server settings that count rate limits in Redis, under keys of this test's own."""
    with redis_keys() as env:
        yield env


@pytest.fixture(scope="session")
def limits_server(pg_database, tmp_path_factory):
    """Return the base URL of one `yjvoice serve` on PostgreSQL counting in Redis, shared by
    the rate-limit tests of this test process (tests/web/test_form_limits.py and
    test_signin_limits.py).

    Starting the production server costs about 6 s of CPU and 8 s (two workers, each
    importing the app); these tests share one, as they need the same settings. They stay
    apart because every limit counts per client address and each test comes from addresses
    of its own (127.0.0.2-4 for the form, 127.0.0.11-14 for sign-in); the database is
    emptied before each test (``db_url``), as for any other.
    """
    with redis_keys() as redis_settings:
        env = server_env(
            pg_database,
            tmp_path_factory.mktemp("limits-server"),
            FORM_START_LIMIT="20 per minute",  # production's defaults are far higher
            FORM_RESPONDENT_LIMIT="10 per minute",
            **redis_settings,
        )
        with yjvoice_serve(env) as base:
            yield base


@pytest.fixture(scope="session")
def serve_server(pg_database, tmp_path_factory):
    """Return the base URL of one `yjvoice serve` on PostgreSQL with the default settings,
    shared by the tests of this test process that need the production server as it ships
    (tests/web/test_slow_clients.py, test_cut_off_posts.py): about 6 s of CPU a start.

    Nothing of one test is left for the next: the database is emptied before each test
    (``db_url``), every connection a test opens it closes, and these tests change no setting.
    """
    with yjvoice_serve(server_env(pg_database, tmp_path_factory.mktemp("serve-server"))) as base:
        yield base


# --- the browser tests' Chromium ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Debian's headless shell (package chromium-headless-shell: the same Chromium, Blink and V8
# as the chromium package, built as "old" headless, which Playwright itself uses for
# headless runs). The full browser's new headless mode starts two to three renderer
# processes a page and a heavier browser process: the 24 browser tests took 100 s of CPU
# with it and 60 s with the shell (2026-12-04). The full browser is the fallback.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
CHROMIUM = Path(
    os.environ.get("TEST_CHROMIUM")
    or (HEADLESS_SHELL if HEADLESS_SHELL.exists() else Path("/usr/bin/chromium"))
)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(message: str) -> None:
    """Skip a browser test for want of a part; under CI the part must be there."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _browser_missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium-headless-shell or chromium)")
    if not AXE.exists():
        missing.append(f"{AXE} (npm install)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    return missing


@pytest.fixture(scope="session")
def playwright_driver():
    """Start Playwright's driver once per test process (each xdist worker)."""
    missing = _browser_missing()
    if missing:
        _unavailable("browser tests need " + ", ".join(missing))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """Launch Debian's Chromium once per test process (each xdist worker).

    Every browser test opens a context of its own (``phone``, ``lead_page``...): cookies,
    storage and cache are per context, so tests share nothing but the Chromium process.
    Starting Playwright's driver and Chromium costs about 2 s, once per module before.
    """
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


FULL_CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def full_browser(playwright_driver, browser):
    """Launch Debian's full Chromium (the browser people run), once per test process.

    The child's journey on a phone runs in it as well as in the headless shell, so the
    product is walked in the browser itself, not only in its cheaper headless build.
    """
    if CHROMIUM == FULL_CHROMIUM:
        yield browser
        return
    if not FULL_CHROMIUM.exists():
        _unavailable(f"the full browser test needs {FULL_CHROMIUM} (apt-get install chromium)")
    chromium = playwright_driver.chromium.launch(
        executable_path=str(FULL_CHROMIUM), args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()
