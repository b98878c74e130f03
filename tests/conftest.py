"""Shared fixtures: a migrated database on SQLite and on a real PostgreSQL, and a Runtime.

Integration tests take ``rt`` (or ``db_url``). PostgreSQL comes from TEST_DATABASE_URL
(default: the local server's ``test`` database); each test process (each pytest-xdist
worker) works in a database of its own, created and dropped here, and each test starts
from empty tables (``_PgReset``). Without the server the PostgreSQL cases are skipped
locally and fail under CI=true, where it must be up. SQLite is likewise one file per test
process, put back to the migrated template before each test (``_SqliteReset``); a test
that needs a file of its own in ``tmp_path`` says so with ``@pytest.mark.own_sqlite_file``.
With one URL per process, engines are built once per process (``_SharedEngines``).

Which backends a test runs on
-----------------------------
By default a test that takes ``db_url`` or ``rt`` runs twice, on SQLite and on PostgreSQL.
That default covers what differs between the two: storage and the conversation service
(exactly-once delivery keys, row locks, concurrent writers), migrations and triggers,
timestamps with and without time zones, what PostgreSQL refuses that SQLite keeps (NUL
bytes, over-long values), driver errors and the SQL of every query. So these stay on both:
every ``tests/test_*.py`` that takes a database (storage, services, migrations, crypto,
retention, withdrawal, review, themes, proposals, accounts, audit, alerts, imports,
dashboard queries, logs, fuzzing), ``tests/export/test_plan.py`` and the other export
loaders, and ``tests/bot/test_webhook.py`` (concurrent deliveries, one reply each).

``SQLITE_ONLY`` below lists what checks what a page, a command or a file shows, and who
may see it, given the data: the web pages and the browser tests, the polling bot's
conversation, forged webhook deliveries (refused before anything is read), the command
line and the export file formats. The backend does not change what they check. Their
tests that do depend on the backend are marked ``@pytest.mark.backends("sqlite",
"postgres")`` and run on both:

- storage promises made through a page or the bot: a double or simultaneous submit stored
  once, odd text and 10,000 emoji stored as given, an error rolled back, an answer from an
  old page kept, a withdrawal deleting everything (tests/web/test_public.py,
  tests/bot/test_withdraw_bot.py);
- for each product function that sends SQL, at least one test that sends it to
  PostgreSQL: several views query the database themselves, so one test per such view
  stays on both (test_admin_review, _rounds, _users, _themes, _safeguarding, _access,
  _proposals, test_proposals_public, test_contact_offer), and one test per command of
  tests/test_cli.py that writes.

The evidence: the whole suite was run on PostgreSQL with every SQL statement traced to
the product function that sent it (``tests/sql_sites.py``). With every test on both
backends, 106 product functions sent SQL to PostgreSQL (and 316 distinct statements);
after the split the tests kept on both still reach every function that sends SQL.
To check again after adding tests: ``pytest -p tests.sql_sites`` (it lists any product
function that sent SQL to SQLite in some test but to PostgreSQL in none).
"""

from __future__ import annotations

import copy
import os
import shutil
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from werkzeug.routing import Rule

from surveys.config import Settings
from surveys.core.catalogue import default_catalogue
from surveys.runtime import Runtime
from surveys.services import accounts
from surveys.storage import db, store
from tests.botapi.server import FakeBotAPI

PG_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SECRET = "test-secret-key-not-for-production-0123456789"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"
accounts.use_cheap_hashing_for_tests()  # argon2 at full cost makes sign-in tests crawl


class _SharedBuilderRule(Rule):
    """A URL rule whose builders are compiled, and whose text is parsed, once per test
    process, for every app.

    Each test builds an app of its own (over a thousand in a run), and werkzeug compiles two
    Python functions for each of its 90 rules: a tenth of the whole suite's CPU. A builder
    is a pure function of the rule's parsed parts and the names of its defaults (it finds
    the converters through the rule it is bound to when called), so equal rules can share
    one. A rule whose defaults fill in one of its variables (werkzeug folds the value in
    through the converter) is compiled as usual. What the app routes and builds is
    unchanged; if werkzeug renames this private method, rules are simply compiled again.

    Parsing the rule's text came next: 8 of an app's 11 ms of CPU. The parse is a pure
    function of the text and of the map's converter classes; each rule still gets converters
    of its own, bound to its own map, and the parts (immutable) are shared.
    """

    _builders: ClassVar[dict[tuple, object]] = {}
    _parsed: ClassVar[dict[tuple, tuple]] = {}

    def _parse_rule(self, rule: str):
        key = (rule, tuple(sorted(self.map.converters.items())))
        parsed = self._parsed.get(key)
        if parsed is None:
            trace, converters, arguments = len(self._trace), set(self._converters), self.arguments
            self.arguments = set(arguments)
            parts = list(super()._parse_rule(rule))
            parsed = self._parsed[key] = (
                parts,
                self._trace[trace:],
                {k: v for k, v in self._converters.items() if k not in converters},
                self.arguments - arguments,
            )
            self.arguments |= arguments
            return parts
        parts, trace, converters, arguments = parsed
        self._trace.extend(trace)
        for name, converter in converters.items():
            own = self._converters[name] = copy.copy(converter)
            own.map = self.map
        self.arguments |= arguments
        return parts

    def _compile_builder(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        if any(dynamic and data in defaults for dynamic, data in self._trace):
            return super()._compile_builder(append_unknown)
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder


Flask.url_rule_class = _SharedBuilderRule


class _SharedEngines:
    """One SQLAlchemy engine per test database and options, for every Runtime of a process.

    Each test builds Runtimes (``rt``, the app's, the bot's) and each built engines of its
    own, and an engine's cache of compiled statements starts empty: every test compiled its
    SQL again, about a tenth of the suite's CPU. The per-process databases (``sqlite_reset``,
    ``pg_database``) keep one URL for the whole session, so engines for them are built once
    and handed to every caller asking with the same options. ``Runtime.close`` still disposes
    of the engine after each test: its connections are closed and the next test opens new
    ones; only the compiled statements and the dialect's first-connect checks are kept.
    Any other URL (a test's own file, a server's) gets a new engine, as in production.
    """

    def __init__(self) -> None:
        self.urls: set[str] = set()
        self.engines: dict[tuple, Engine] = {}
        self.make_engine, self.make_reader = db.make_engine, db.make_reader

    def share(self, url: str) -> str:
        """Let engines for ``url`` be shared from now on; return it."""
        self.urls.add(url)
        return url

    def engine(self, url: str, **kwargs: Any) -> Engine:
        """Return the shared engine for ``url`` and these options (db.make_engine)."""
        key = ("engine", url, repr(sorted(kwargs.items())))
        if url not in self.urls:
            return self.make_engine(url, **kwargs)
        if key not in self.engines:
            self.engines[key] = self.make_engine(url, **kwargs)
        return self.engines[key]

    def reader(self, url: str) -> Engine | None:
        """Return the shared read engine for ``url`` (db.make_reader)."""
        if url not in self.urls:
            return self.make_reader(url)
        key = ("reader", url)
        if key not in self.engines:
            self.engines[key] = self.make_reader(url)  # type: ignore[assignment]
        return self.engines[key]


_shared_engines = _SharedEngines()
db.make_engine = _shared_engines.engine
db.make_reader = _shared_engines.reader


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


@pytest.fixture(autouse=True)
def _no_foreign_event_loop(request):
    """Hide Playwright's event loop from the tests that do not use the browser.

    The session's Chromium (tests/web/conftest.py ``browser``) leaves Playwright's asyncio
    loop set as the running loop of the worker's thread, so product code that calls
    ``asyncio.run`` (the bot's follow-up job) raised "cannot be called from a running event
    loop" in any test a worker ran after its browser tests. The loop is set back after.
    """
    import asyncio

    loop = asyncio._get_running_loop()
    if loop is None or "browser" in request.fixturenames:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


@pytest.fixture(autouse=True)
def _no_job_queue_left_behind():
    """Forget the job queue a test configured (an app, a worker), so the next starts clean."""
    yield
    from surveys.jobs import broker

    broker.reset()


def _worker() -> str:
    """Return this pytest-xdist worker's name ("gw0", ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class _PgReset:
    """Empty every table of one PostgreSQL database in a single round trip.

    ``TRUNCATE ... RESTART IDENTITY CASCADE`` over every table cost 0.22-0.34 s per test
    (a new file per table, and a commit that waits for the disk); ``DELETE`` of the few rows
    a test wrote costs about a millisecond. The connection is opened once and kept. With
    ``session_replication_role = replica`` no trigger fires, so the append-only audit
    trigger lets the rows go and foreign keys do not care about the order; sequences are
    put back to 1, as ``RESTART IDENTITY`` did, so ids are the same on every run.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.conn = self.engine.connect()
        names = self.conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ).scalars()
        sequences = self.conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).scalars()
        self.sql = (
            "SET session_replication_role = replica;\n"
            + "".join(f'DELETE FROM "{name}";\n' for name in names)
            + "".join(f"SELECT setval('\"{seq}\"', 1, false);\n" for seq in sequences)
            + "SET session_replication_role = DEFAULT;"
        )
        # A test that left a transaction open must fail the next setup, not hang it.
        self.conn.exec_driver_sql("SET lock_timeout = '20s'")

    def __call__(self) -> None:
        self.conn.exec_driver_sql(self.sql)

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_database():
    """Create a migrated PostgreSQL database for this test process; drop it after.

    Under pytest-xdist each worker is its own test session, so each has its own database.
    """
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI but not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem})")
    name = f"yjv_test_{_worker()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # Commits return without waiting for the WAL to reach the disk (3 ms each here, and
        # thousands a run). Only durability after a crash of the server changes; what other
        # sessions see, locks and constraints are the same. Every connection to this
        # database gets it, the servers and workers the tests start included.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        eng = db.make_engine(url)
        db.upgrade(eng)
        eng.dispose()
        yield _shared_engines.share(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_reset(pg_database):
    """Return a function that empties the session's PostgreSQL database."""
    reset = _PgReset(pg_database)
    yield reset
    reset.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Return a migrated SQLite file that each test copies (migrating once is faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    eng = db.make_engine(f"sqlite:///{path}")
    db.upgrade(eng)
    eng.dispose()  # closing the last connection checkpoints the WAL into the main file
    return path


class _SqliteReset:
    """Put this test process's SQLite database back to the migrated template, in place.

    Each test used to copy the template to a file of its own: a new URL for each test, so
    new engines (see ``_SharedEngines``). Now one file serves the process, and SQLite's
    backup API writes the template over it before each test (under a millisecond): schema,
    rows and counters are exactly the template's, even after a test that migrated down and
    up again. The job queue's file, which lies next to the database, is removed with it.
    """

    def __init__(self, template: Path, folder: Path) -> None:
        self.path = folder / "yjvoice.sqlite3"
        self.url = f"sqlite:///{self.path}"
        self.template = sqlite3.connect(template)
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA busy_timeout = 20000")  # a test's leftover must fail, not hang

    def __call__(self) -> str:
        self.template.backup(self.conn)
        for leftover in self.path.parent.glob("yjvoice-jobs.sqlite3*"):
            leftover.unlink()
        return self.url

    def close(self) -> None:
        self.conn.close()
        self.template.close()


@pytest.fixture(scope="session")
def sqlite_reset(sqlite_template, tmp_path_factory):
    """Return a function that resets the process's SQLite database and returns its URL."""
    reset = _SqliteReset(sqlite_template, tmp_path_factory.mktemp("sqlite"))
    _shared_engines.share(reset.url)
    yield reset
    reset.close()


BACKENDS = ("sqlite", "postgres")
# What a page, a command or a file shows, and who may see it, given the data: SQLite only
# (the module docstring says why, and which of their tests still run on both).
SQLITE_ONLY = (
    "tests/web/",
    "tests/bot/test_bot.py",
    "tests/bot/test_withdraw_bot.py",
    "tests/test_forged_webhooks.py",
    "tests/test_cli.py",
    "tests/export/test_cli_export.py",
    "tests/export/test_docx.py",
    "tests/export/test_xlsx.py",
    "tests/export/test_text_exports.py",
)


#: Session fixtures that start a server process of the app (tests/web/conftest.py): their
#: tests run first, grouped by fixture. pytest-xdist's worksteal gives each worker a run of
#: neighbouring tests and another worker takes work only from the end of a run, so these
#: stay on one worker and each server starts once a run instead of once a worker (about 6 s
#: of CPU a start); next to each other but late in the order they were still split between
#: the workers in two runs of five. Running these long, waiting tests first also keeps them
#: out of the run's tail. A test taken by the other worker still gets a server of its own.
#: Not Chromium: with the browser tests first, the bot's tests that run a job with asyncio
#: failed after them (Playwright's loop; ``_no_foreign_event_loop`` hides it since, and
#: moving Chromium to the front has not been measured again).
SHARED_PROCESSES = ("limits_server", "serve_server")


#: Files of long tests that mostly wait (a private PostgreSQL server frozen, nginx, real job
#: workers killed and started, stock gunicorn): next after the shared processes' tests, so
#: they start early on the first worker and never end the run. Sorted where they were, they
#: were among the last tests, and the run ended with one worker waiting out the frozen
#: database test (16-24 s) while the other had finished 3-16 s before.
LONG_FIRST = (
    "tests/web/test_frozen_database.py",
    "tests/web/test_proxy.py",
    "tests/web/test_cut_off_posts.py",
    "tests/jobs/test_worker_kill.py",
    "tests/jobs/test_assess_worker.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests of each shared process to the front, grouped, then the long waiting
    tests of LONG_FIRST (order otherwise kept)."""
    front: list[pytest.Item] = []
    taken: set[int] = set()
    for name in SHARED_PROCESSES:
        for item in items:
            if id(item) not in taken and (
                name in getattr(item, "fixturenames", ())
                or any(m.args == (name,) for m in item.iter_markers("server"))
            ):
                front.append(item)
                taken.add(id(item))
    for path in LONG_FIRST:
        for item in items:
            if id(item) not in taken and item.nodeid.startswith(f"{path}::"):
                front.append(item)
                taken.add(id(item))
    items[:] = front + [i for i in items if id(i) not in taken]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over: leave the heap out of the collector's passes at interpreter exit.

    Each xdist worker holds the product, every test module and the sentence model; the
    garbage collector's passes over all of it as the interpreter exited took 2.6-3.7 s before
    pytest could print its result (0.2-0.5 s with this), and 0.6 s in the controller.
    """
    import gc

    gc.freeze()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that needs a database on the backends its ``backends`` mark names.

    Without the mark a test runs on both; ``@pytest.mark.backends("sqlite")`` (on a test,
    a class or a module's ``pytestmark``) keeps it to SQLite. See the module docstring.
    """
    if "db_url" not in metafunc.fixturenames:
        return
    mark = metafunc.definition.get_closest_marker("backends")
    if mark:
        names = mark.args
    elif metafunc.definition.nodeid.startswith(SQLITE_ONLY):
        names = ("sqlite",)
    else:
        names = BACKENDS
    if not names or set(names) - set(BACKENDS):
        raise pytest.UsageError(f"backends({names}): choose from {BACKENDS}")
    metafunc.parametrize(
        "db_url",
        [pytest.param(n, marks=pytest.mark.postgres) if n == "postgres" else n for n in names],
        indirect=True,
    )


@pytest.fixture
def db_url(request, tmp_path) -> str:
    """Return the URL of an empty, migrated database (SQLite or PostgreSQL; see above).

    The same URL for every test of a process, except with ``own_sqlite_file``: then a copy
    of the template in ``tmp_path``.
    """
    if request.param == "sqlite":
        if request.node.get_closest_marker("own_sqlite_file") is None:
            return request.getfixturevalue("sqlite_reset")()
        path = tmp_path / "yjvoice.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    request.getfixturevalue("pg_reset")()
    return request.getfixturevalue("pg_database")


def make_settings(tmp_path: Path, url: str, **overrides) -> Settings:
    """Return test settings (fixed secret, instance under tmp_path)."""
    base = dict(
        instance_path=tmp_path,
        database_url=url,
        secret_key=TEST_SECRET,
        public_base_url="http://testserver",
        # Every test client comes from one address: the form's rate limits are the subject
        # of tests/web/test_form_limits.py only (which sets its own).
        form_start_limit="100000 per minute",
        form_answer_limit="100000 per minute",
        form_respondent_limit="100000 per minute",
    )
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def rt(db_url, tmp_path):
    """Return a Runtime on the test database, with priorities loaded."""
    runtime = Runtime(make_settings(tmp_path, db_url))
    # What ``initialise`` does, less its Alembic check: the database is migrated already,
    # and asking Alembic again costs 40-70 ms a test.
    with runtime.transaction() as session:
        store.sync_priorities(session, runtime.catalogue)
    yield runtime
    runtime.close()


@pytest.fixture
def jobs_immediate(rt):
    """Run each job in this process as the transaction that queued it commits (Huey's
    immediate mode, unit tests only): an answer's second reading (the recall net and heads,
    ``surveys.services.assessing``) is stored, and its case opened, when the storing
    transaction returns, as a worker would do a moment later."""
    from surveys.jobs import broker

    broker.configure(rt.settings, rt.sessions, immediate=True)
    yield rt


@pytest.fixture
def open_round(rt):
    """Open a round on policing, remands and education for every audience; return its code."""
    with rt.transaction() as session:
        rnd = store.open_round(
            session,
            rt.catalogue,
            title="Test round",
            priorities=["policing", "remands", "education"],
            audiences=["child", "parent", "staff", "partner"],
        )
        return rnd.code


@pytest.fixture(scope="session")
def catalogue():
    """Return the packaged question banks."""
    return default_catalogue()


@pytest.fixture
def botapi():
    """Return a running fake Telegram Bot API server."""
    with FakeBotAPI() as api:
        yield api


@pytest.fixture
def brt(rt, botapi):
    """Return a Runtime on the test database whose bot talks to the fake Bot API."""
    settings = replace(
        rt.settings,
        telegram_token=botapi.token,
        telegram_api_url=botapi.base_url,
        telegram_webhook_secret=WEBHOOK_SECRET,
    )
    runtime = Runtime(settings)
    yield runtime
    runtime.close()
