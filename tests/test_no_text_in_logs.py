"""No answer text, respondent email, invented name, Telegram id or username reaches the logs.

Every log record (DEBUG and up, every logger, SQLAlchemy's included) is captured across: a
web journey, the store path the bot uses (without Telegram), forced errors (an
IntegrityError, a 500 whose exception message quotes the answer) and CLI commands.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from surveys.core import engine
from surveys.services import conversation
from surveys.storage import store
from surveys.storage.models import Answer, utcnow
from tests.conftest import make_settings
from tests.web.conftest import STAFF_PASSWORD, form_of, hidden_fields

NAME = "Zephaniah Quistorp"  # invented; appears in no bank, message or code
EMAIL = "zeph.quistorp77@example.net"
TG_ID = "918273645"
TG_USERNAME = "zephq_rides"
WORDS = f"my name is {NAME}, email {EMAIL}, the police stopped me at the Krelbourne lido"
FLAGGED = "my stepdad hurts me at home and I am scared to go back"
NEEDLES = (
    NAME,
    "Zephaniah",
    "Quistorp",
    EMAIL,
    TG_ID,
    TG_USERNAME,
    "Krelbourne",
    "stepdad hurts me",
    "scared to go back",
)


@pytest.fixture
def web_app(rt, db_url, tmp_path):
    """The web app on the test database, with one lead account."""
    from surveys.services.accounts import upsert_user
    from web import create_app

    with rt.transaction() as s:
        upsert_user(s, "lead@yjs.example.org", STAFF_PASSWORD, role="lead")
    app = create_app({"YJV_SETTINGS": make_settings(tmp_path, db_url), "TESTING": True})
    yield app
    runtime = app.extensions["yjvoice"]
    if "database" in runtime.__dict__:
        runtime.database.dispose()


def assert_clean(caplog) -> None:
    fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for record in caplog.records:
        line = fmt.format(record)  # message, args, exception and stack text
        for needle in NEEDLES:
            assert needle.casefold() not in line.casefold(), (needle, record.name, line[:300])


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "werkzeug", "yjvoice", "surveys", "web"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _fill(v_client, path) -> None:
    page = v_client.get(path).get_data(as_text=True)
    for i in range(60):
        form = form_of(page)
        choices = [(n, val) for n, val, _ in form.buttons if n == "choice"]
        data = hidden_fields(page)
        if not data.get("question") and not choices:
            break
        if choices:
            data["choice"] = choices[0][1]
        else:
            data["answer"] = WORDS if i % 2 else FLAGGED
        res = v_client.post(path, data=data)
        page = (
            v_client.get(path).get_data(as_text=True)
            if res.status_code == 303
            else (res.get_data(as_text=True))
        )


def test_web_journey_and_admin_views_log_no_text(web_app, rt, open_round, everything_logged):
    from tests.web.conftest import sign_in

    app = web_app
    client = app.test_client()
    path = f"/r/{open_round}/child"
    page = client.get(path).get_data(as_text=True)
    for name, value, label in form_of(page).buttons:
        if "start" in label.lower():
            client.post(path, data={**hidden_fields(page), **({name: value} if name else {})})
    _fill(client, path)
    with rt.transaction() as s:
        assert s.query(Answer).count() > 0
    lead = app.test_client()
    assert sign_in(lead, "lead@yjs.example.org").status_code == 302
    sign_in(app.test_client(), EMAIL, "not the password")  # an unknown email fails
    lead.get(f"/admin/rounds/{open_round}/review?status=all")
    lead.get("/admin/safeguarding")
    lead.get("/admin/audit")
    lead.get("/admin/audit.csv")
    assert_clean(everything_logged)


def _store_path(rt, code, key_prefix) -> str:
    chat_key = store.keyed_hash(rt.settings.secret_key, "telegram", TG_ID)
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(
            s, rnd, rt.context, channel="telegram", resume_key=chat_key, audience="child"
        )
        store.link_chat(s, "telegram", chat_key, resp.id)
        rid = resp.id
    for i, inbound in enumerate(
        (engine.Inbound(choice="yes"), engine.Inbound(text=WORDS), engine.Inbound(text=FLAGGED))
    ):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, inbound, key=f"{key_prefix}:{i}")
    return rid


def test_store_path_and_an_integrity_error_log_no_text(rt, open_round, everything_logged):
    rid = _store_path(rt, open_round, "tg:1")
    with pytest.raises(IntegrityError) as err, rt.transaction() as s:
        s.execute(
            insert(Answer).values(  # the same inbound key again: unique violation
                round_id=s.get(Answer, 1).round_id if s.get(Answer, 1) else 1,
                respondent_id=rid,
                priority="policing",
                question_id="q",
                audience="child",
                channel="telegram",
                text=WORDS,
                inbound_key="tg:1:1",
                superseded=False,
                created_at=utcnow(),
            )
        )
    logging.getLogger("yjvoice.test").exception("forced failure: %s", err.value)
    assert_clean(everything_logged)


def test_a_500_whose_message_quotes_the_answer_logs_no_text(
    web_app, rt, open_round, monkeypatch, everything_logged
):
    from surveys.analysis import pipeline

    app = web_app

    def boom(text, **kw):
        raise RuntimeError(f"analysis failed on {text!r}")

    monkeypatch.setattr(pipeline, "first_reading", boom)  # what runs as the answer is stored
    client = app.test_client()
    path = f"/r/{open_round}/child"
    page = client.get(path).get_data(as_text=True)
    for name, value, label in form_of(page).buttons:
        if "start" in label.lower():
            client.post(path, data={**hidden_fields(page), **({name: value} if name else {})})
    page = client.get(path).get_data(as_text=True)
    res = client.post(path, data={**hidden_fields(page), "answer": WORDS})
    assert res.status_code == 500
    assert any(r.levelno >= logging.ERROR for r in everything_logged.records)
    assert_clean(everything_logged)


def test_cli_commands_log_no_text(rt, open_round, monkeypatch, tmp_path, everything_logged):
    from yjvoice.cli import main

    _store_path(rt, open_round, "tg:2")
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("SECRET_KEY", rt.settings.secret_key)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path))
    runner = CliRunner()
    out = tmp_path / "all.csv"
    # The worker's second reading, in this process (its logs are checked too).
    assert runner.invoke(main, ["-v", "jobs", "run", "--once"]).exit_code == 0
    res = runner.invoke(
        main, ["-v", "export", "--round", open_round, "--format", "csv", "--all", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert NAME in out.read_text(encoding="utf-8")  # the file has it; the logs must not
    res = runner.invoke(main, ["-v", "redact"], input=WORDS + "\n")
    assert res.exit_code == 0, res.output
    with rt.transaction() as s:
        rnd = store.set_status(s, open_round, "closed")
        rnd.closed_at = utcnow() - timedelta(days=400)
    assert runner.invoke(main, ["-v", "purge"]).exit_code == 0
    assert runner.invoke(main, ["-v", "keys", "rotate"]).exit_code == 0
    assert_clean(everything_logged)
