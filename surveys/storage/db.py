"""Database engines, sessions and schema migrations (Alembic)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import CursorResult, Engine, Executable, create_engine, event, inspect, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_setup(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, which lets two
    # connections both read a conversation and then race to write it. Take the write lock at
    # BEGIN instead (the SQLAlchemy-documented recipe), so steps of one conversation serialise.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class _NoRowLogs(logging.Filter):
    """Drop SQLAlchemy's DEBUG "Row (...)" records: they print decrypted answer text."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ""
        return not msg.startswith(("Row ", "Col "))


_ROW_FILTER = _NoRowLogs()


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection that stops waiting for a server that does not answer.

    libpq has no read timeout: against a frozen server (a stopped process, a stalled disk,
    a paused virtual machine) the kernel still acknowledges every packet, so a query waits
    for ever and holds its web thread. Each wait here gives up after ``deadline`` seconds,
    closes the connection (the pool then discards it) and raises OperationalError.
    """

    deadline: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """Consume a libpq generator, giving up after the connection's deadline."""
        if timeout is None:
            timeout = self.deadline
        try:
            return super().wait(gen, interval, timeout)
        except psycopg.errors._WaitTimeout:  # psycopg's own signal for the timeout it was given
            self.pgconn.finish()  # mid-protocol: the connection cannot be used again
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s; connection closed"
            ) from None


def make_engine(
    url: str,
    *,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    pool_timeout: float | None = None,
    **kwargs: Any,
) -> Engine:
    """Create an engine for SQLite or PostgreSQL with the settings this product relies on.

    On PostgreSQL, ``connect_timeout`` bounds opening a connection, ``statement_timeout``
    each statement (the server cancels it; the client gives up two seconds later if the
    server does not answer at all) and ``pool_timeout`` the wait for a pooled connection.
    """
    # Even at DEBUG, result rows (answer text, password hashes) never reach the logs.
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if _ROW_FILTER not in engine_logger.filters:
        engine_logger.addFilter(_ROW_FILTER)
    # Errors must never quote SQL parameters: they hold answer text, which stays out of logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    if pool_timeout is not None:
        kwargs.setdefault("pool_timeout", pool_timeout)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if connect_timeout is not None:
        # libpq counts whole seconds and treats anything under 2 as 2.
        connect_args.setdefault("connect_timeout", max(2, math.ceil(connect_timeout)))
    if statement_timeout is not None:
        connect_args.setdefault("options", f"-c statement_timeout={int(statement_timeout * 1000)}")
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    deadline = None if statement_timeout is None else statement_timeout + 2

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        conn = DeadlineConnection.connect(*cargs, **cparams)
        conn.deadline = deadline
        return conn

    return engine


def make_reader(url: str) -> Engine | None:
    """Return an engine for short reads that never wait on a writer (None: use the main one).

    On SQLite the main engine begins every transaction with ``BEGIN IMMEDIATE`` (the write
    lock), so a read from a second connection inside a caller's transaction would wait for
    that very transaction. This engine leaves transactions to the driver, which begins none
    for a SELECT; with the WAL journal a read then never waits. PostgreSQL readers never
    wait on writers: the main engine serves.
    """
    if not url.startswith("sqlite") or make_url(url).database in (None, "", ":memory:"):
        return None
    engine = create_engine(url, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=15000")
        cur.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; callers own each session's lifetime."""
    return sessionmaker(engine, expire_on_commit=False)


def rows_changed(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session; return how many rows it matched."""
    # Session.execute is typed as returning rows; an UPDATE or DELETE gives a CursorResult.
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration; safe to run twice."""
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")


def schema_is_current(engine: Engine) -> bool:
    """Return True when the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) == set(script.get_heads())
