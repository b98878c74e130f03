"""The audit log: events are appended, never changed or removed (the database refuses)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from surveys.services import accounts, audit
from surveys.storage import store
from surveys.storage.models import AuditEvent, User


def test_record_appends_an_event_with_actor_round_and_details(rt, open_round):
    with rt.transaction() as s:
        user = accounts.upsert_user(
            s, "lead@yjs.example.org", "a long passphrase here", role="lead"
        )
        rnd = store.get_round(s, open_round)
        event = audit.record(
            s, "export", actor=user, round_id=rnd.id, details={"format": "docx", "quotes": 3}
        )
        eid = event.id
    with rt.transaction() as s:
        e = s.get(AuditEvent, eid)
        assert (e.action, e.actor_label, e.details) == (
            "export",
            "lead@yjs.example.org",
            {"format": "docx", "quotes": 3},
        )
        assert e.actor_id is not None and e.at is not None
        system = audit.record(s, "purge")
        assert (system.actor_id, system.actor_label) == (None, "system")


@pytest.mark.parametrize("key", ["text", "password", "quote_text", "contact"])
def test_details_refuse_free_text(rt, key):
    with rt.transaction() as s, pytest.raises(audit.AuditError):
        audit.record(s, "export", details={key: "anything"})


def test_details_refuse_long_strings_and_bad_actions(rt):
    with rt.transaction() as s:
        with pytest.raises(audit.AuditError):
            audit.record(s, "export", details={"format": "x" * 500})
        with pytest.raises(audit.AuditError):
            audit.record(s, "Drop Table")


def test_there_is_no_update_or_delete_api():
    assert not [n for n in dir(audit) if n.startswith(("update", "delete", "remove", "edit"))]


def _one_event(rt) -> int:
    with rt.transaction() as s:
        return audit.record(s, "sign_in_failed", details={"email_hash": "sha256:00"}).id


@pytest.mark.parametrize(
    "stmt",
    [
        lambda eid: update(AuditEvent).where(AuditEvent.id == eid).values(action="sign_in"),
        lambda eid: update(AuditEvent).where(AuditEvent.id == eid).values(details={}),
        lambda eid: update(AuditEvent).where(AuditEvent.id == eid).values(actor_id=1),
        lambda eid: delete(AuditEvent).where(AuditEvent.id == eid),
    ],
)
def test_the_database_refuses_update_and_delete(rt, stmt):
    with rt.transaction() as s:
        accounts.upsert_user(s, "x@yjs.example.org", "a long passphrase here", role="lead")
    eid = _one_event(rt)
    with pytest.raises(DBAPIError, match="append-only"), rt.database.begin() as conn:
        conn.execute(stmt(eid))
    with rt.database.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1


def test_deleting_a_user_keeps_their_events(rt):
    with rt.transaction() as s:
        u = accounts.upsert_user(s, "gone@yjs.example.org", "a long passphrase here", role="lead")
        audit.record(s, "sign_in", actor=u)
        uid = u.id
    with rt.database.begin() as conn:
        conn.execute(delete(User.__table__).where(User.__table__.c.id == uid))
    with rt.transaction() as s:
        e = s.scalars(select(AuditEvent)).one()
        assert (e.actor_id, e.actor_label) == (None, "gone@yjs.example.org")


def test_query_filters_and_pages(rt, open_round):
    with rt.transaction() as s:
        rid = store.get_round(s, open_round).id
        for i in range(5):
            audit.record(s, "export", round_id=rid, details={"n": i})
        audit.record(s, "purge")
    with rt.transaction() as s:
        rows, total = audit.query(s, action="export", limit=3)
        assert total == 5 and [r.details["n"] for r in rows] == [4, 3, 2]
        more, _ = audit.query(s, action="export", before=rows[-1].id, limit=3)
        assert [r.details["n"] for r in more] == [1, 0]
        assert audit.query(s, round_id=rid)[1] == 5
        assert len(list(audit.iter_all(s))) == 6


def test_cli_user_commands_and_export_are_audited(rt, open_round, monkeypatch, tmp_path):
    from yjvoice.cli import main

    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("SECRET_KEY", rt.settings.secret_key)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path))
    runner = CliRunner()
    res = runner.invoke(
        main,
        ["user", "add", "--email", "r@yjs.example.org", "--role", "reviewer", "--password-stdin"],
        input="a long passphrase here\n",
    )
    assert res.exit_code == 0, res.output
    assert runner.invoke(main, ["user", "disable", "r@yjs.example.org"]).exit_code == 0
    res = runner.invoke(
        main,
        [
            "export",
            "--round",
            open_round,
            "--format",
            "csv",
            "--all",
            "--out",
            str(tmp_path / "all.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    with rt.transaction() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["user_created", "user_disable", "export"]
        assert all(e.actor_label.startswith("cli") for e in events)
        assert events[2].details["format"] == "csv" and events[2].round_id is not None
