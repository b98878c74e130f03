"""Retention: raw text goes RETENTION_DAYS after the round closes; the rest stays."""

from __future__ import annotations

import threading
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from surveys.services import retention
from surveys.storage import store
from surveys.storage.models import Answer, AuditEvent, Round, utcnow
from tests.test_crypto import SECRET_WORDS, raw_texts, store_text


def _close(rt, code, days_ago: float) -> None:
    with rt.transaction() as s:
        rnd = store.set_status(s, code, "closed")
        rnd.closed_at = utcnow() - timedelta(days=days_ago)


def _quote_the_text_answer(rt) -> int:
    with rt.transaction() as s:
        a = s.scalars(select(Answer).where(Answer.choice.is_(None))).one()
        a.review_status, a.is_quote, a.quote_text = "approved", True, "he drinks"
        a.themes = ["family"]
        return a.id


def test_purge_empties_raw_text_and_keeps_redacted_tags_and_quotes(rt, open_round):
    store_text(rt, open_round, SECRET_WORDS, "p")
    aid = _quote_the_text_answer(rt)
    with rt.transaction() as s:
        redacted = s.get(Answer, aid).redacted
    _close(rt, open_round, days_ago=91)
    with rt.transaction() as s:
        counts = retention.purge(s, days=90)
    assert counts.answers == 1 and counts.rounds == 1
    with rt.transaction() as s:
        a = s.get(Answer, aid)
        assert a.text == "" and a.purged_at is not None
        assert a.redacted == redacted and a.quote_text == "he drinks" and a.themes == ["family"]
        assert a.review_status == "approved" and a.is_quote
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).one()
        assert event.details["answers"] == 1 and event.details["days"] == 90
    assert set(raw_texts(rt)) == {""}


def test_purge_leaves_open_and_recently_closed_rounds(rt, open_round):
    store_text(rt, open_round, SECRET_WORDS, "o")
    with rt.transaction() as s:
        assert retention.purge(s, days=90).answers == 0  # still open
    _close(rt, open_round, days_ago=89)
    with rt.transaction() as s:
        assert retention.purge(s, days=90).answers == 0
        # nothing purged, no purge recorded (the words open a safeguarding case, audited too)
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).all() == []
    with rt.transaction() as s:
        assert retention.purge(s, now=utcnow() + timedelta(days=2), days=90).answers == 1


def test_purge_twice_is_idempotent(rt, open_round):
    store_text(rt, open_round, SECRET_WORDS, "i")
    _close(rt, open_round, days_ago=100)
    with rt.transaction() as s:
        first = retention.purge(s, days=90)
        stamp = s.scalars(select(Answer.purged_at)).first()
    with rt.transaction() as s:
        second = retention.purge(s, days=90)
        assert s.scalars(select(Answer.purged_at)).first() == stamp
    assert (first.answers, second.answers) == (1, 0)


def test_concurrent_purges_purge_each_answer_once(rt, open_round):
    for i in range(3):
        store_text(rt, open_round, f"{SECRET_WORDS} {i}", f"c{i}")
    _close(rt, open_round, days_ago=100)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        with rt.transaction() as s:
            results.append(retention.purge(s, days=90).answers)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 3]
    with rt.transaction() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).all()) == 1


def test_reopened_round_is_not_purged(rt, open_round):
    store_text(rt, open_round, SECRET_WORDS, "r")
    _close(rt, open_round, days_ago=200)
    with rt.transaction() as s:
        store.set_status(s, open_round, "open")
    with rt.transaction() as s:
        assert retention.purge(s, days=90).answers == 0
        assert s.scalars(select(Round.closed_at)).one() is None


def test_purge_command_reports_counts(rt, open_round, monkeypatch, tmp_path):
    from yjvoice.cli import main

    store_text(rt, open_round, SECRET_WORDS, "cli")
    _close(rt, open_round, days_ago=40)
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("SECRET_KEY", rt.settings.secret_key)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path))
    monkeypatch.setenv("RETENTION_DAYS", "30")
    runner = CliRunner()
    res = runner.invoke(main, ["purge"])
    assert res.exit_code == 0, res.output
    assert "Purged the raw text of 1 answers" in res.output and "30 days" in res.output
    res = runner.invoke(main, ["purge", "--json"])
    assert res.exit_code == 0 and '"answers": 0' in res.output
    with rt.transaction() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).one()
        assert event.actor_label.startswith("cli") and event.details["answers"] == 1
