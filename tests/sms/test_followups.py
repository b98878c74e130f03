""" "You said, we did" by text: NEWS after the last question keeps the number encrypted until
the lead publishes the round's page; then one text with the link, and the number is erased.
Through the real Notify and Twilio clients against our stand-ins, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, text

from surveys import jobs
from surveys.notify import sms as outbound
from surveys.services import changes, followups
from surveys.storage import store
from surveys.storage.models import FollowUp
from tests.sms.conftest import CHILD, OTHER, PUBLIC


def _finish(p, code: str) -> None:
    p.say(f"{code} child")
    p.say("yes")
    while "WITHDRAW" not in p.last():
        p.say("1" if "\n1 " in p.last() else "They listened to me")


def _publish(rt, code: str) -> None:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        changes.add(s, rnd, changes.Wording("More youth clubs", "We opened one"), actor=None)
        changes.publish(s, rnd, actor=None)


def _run_jobs(rt, sms_settings) -> None:
    jobs.load_kinds()
    jobs.run_due(rt.sessions, replace(rt.settings, sms=sms_settings, public_base_url=PUBLIC))


def raw_addresses(rt) -> list[str | None]:
    with rt.database.connect() as conn:
        return [r[0] for r in conn.execute(text("select address from followups order by id"))]


def test_news_after_the_last_question_sends_the_page_once_when_it_goes_up(
    rt, open_round, phone, provider
):
    _name, api, settings = provider
    p = phone()
    _finish(p, open_round)
    assert "Text NEWS" in p.last()
    [yes] = p.say("news")
    assert "one message" in yes.body
    p.deliver("NEWS", ident=None)  # asked twice: still one person to tell
    p.new()
    assert len(raw_addresses(rt)) == 1
    assert raw_addresses(rt)[0].startswith("gAAAAA")  # encrypted, never in clear
    assert "7700900123" not in raw_addresses(rt)[0]

    _run_jobs(rt, settings(api))  # nothing published yet: nothing sent
    assert p.new() == []
    _publish(rt, open_round)
    _run_jobs(rt, settings(api))  # the follow-up job moves it to the outbox...
    outbound.deliver_due(rt.transaction, _sender(settings(api)), settings(api))  # ...sent
    [told] = p.new()
    assert f"{PUBLIC}/r/{open_round}/changed" in told.body
    assert "youth" not in told.body.lower() and "justice" not in told.body.lower()
    assert raw_addresses(rt) == [None]  # erased once sent
    with rt.transaction() as s:
        assert s.scalars(select(FollowUp)).one().sent_at is not None

    # Taken down and put up again: nobody is told twice.
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        changes.publish(s, rnd, actor=None, public=False)
        changes.publish(s, rnd, actor=None)
    _run_jobs(rt, settings(api))
    outbound.deliver_due(rt.transaction, _sender(settings(api)), settings(api))
    assert p.new() == []


def _sender(settings):
    from sms.providers import sender_for

    return sender_for(settings)


def test_news_mid_survey_is_an_answer_and_keeps_no_number(rt, open_round, phone):
    p = phone()
    p.say(f"{open_round} child")
    p.say("yes")
    p.say("news")
    assert raw_addresses(rt) == []


def test_asking_after_the_page_is_up_is_told_at_once(rt, open_round, phone, provider):
    _name, api, settings = provider
    _publish(rt, open_round)
    p = phone(OTHER)
    _finish(p, open_round)
    p.say("NEWS")
    _run_jobs(rt, settings(api))
    outbound.deliver_due(rt.transaction, _sender(settings(api)), settings(api))
    [told] = p.new()
    assert followups.page_url(PUBLIC, open_round) in told.body


def test_a_number_that_opted_out_is_not_told(rt, open_round, phone, provider):
    _name, api, settings = provider
    p = phone()
    _finish(p, open_round)
    p.say("NEWS")
    p.say("STOP")
    _publish(rt, open_round)
    _run_jobs(rt, settings(api))
    outbound.deliver_due(rt.transaction, _sender(settings(api)), settings(api))
    assert p.new() == []
    assert raw_addresses(rt) == [None]
    assert CHILD  # the invented number of tests/sms/conftest.py
