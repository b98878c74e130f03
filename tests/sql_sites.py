"""A pytest plugin: which product functions send SQL to SQLite but to PostgreSQL in no test.

Run the whole suite with ``-p tests.sql_sites`` (with or without ``-n``). Every SQL
statement is traced to the innermost function of ``surveys/``, ``web/``, ``bot/`` or
``yjvoice/`` that sent it; the summary lists the functions no PostgreSQL test reached,
each with one SQLite test that did. Keep that list empty: mark one of those tests
``@pytest.mark.backends("sqlite", "postgres")`` (see tests/conftest.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tuple(str(ROOT / name) + "/" for name in ("surveys", "web", "bot", "yjvoice"))
# Frames that only pass a statement on: the caller is the function that sent it.
PLUMBING = (str(ROOT / "surveys" / "runtime.py"), str(ROOT / "surveys" / "storage" / "db.py"))
# Transaction control and schema changes are the same call on every backend.
SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SET ", "SHOW ")

_sites: dict[str, dict[str, str]] = {"sqlite": {}, "postgresql": {}}  # site -> first test
_labels: dict[CodeType, str | None] = {}
_test: list[str] = [""]


def _label(code: CodeType) -> str | None:
    if code not in _labels:
        name = code.co_filename
        inside = name.startswith(PACKAGES) and not name.startswith(PLUMBING)
        inside = inside and "/migrations/" not in name
        _labels[code] = f"{Path(name).relative_to(ROOT)}:{code.co_name}" if inside else None
    return _labels[code]


@event.listens_for(Engine, "before_cursor_execute")
def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if not _test[0] or statement.lstrip().upper().startswith(SKIP):
        return
    frame = sys._getframe(1)
    while frame is not None:
        site = _label(frame.f_code)
        if site:
            _sites.setdefault(conn.dialect.name, {}).setdefault(site, _test[0])
            return
        frame = frame.f_back


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _test[0] = item.nodeid
    yield
    _test[0] = ""


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: hand the sites to the controller
        output["sql_sites"] = _sites


def pytest_testnodedown(node: Any, error: Any) -> None:
    for dialect, sites in node.workeroutput.get("sql_sites", {}).items():
        for site, test in sites.items():
            _sites.setdefault(dialect, {}).setdefault(site, test)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    sqlite, postgres = _sites.get("sqlite", {}), _sites.get("postgresql", {})
    missing = sorted(set(sqlite) - set(postgres))
    write = terminalreporter.write_line
    terminalreporter.section("SQL sent by product functions")
    write(f"{len(sqlite)} functions sent SQL to SQLite, {len(postgres)} to PostgreSQL")
    for site in missing:
        write(f"on SQLite only: {site}  (for example {sqlite[site]})")
