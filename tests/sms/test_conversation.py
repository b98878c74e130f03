"""A young person answers a round by text, through Notify and through Twilio.

Everything goes the real way: received texts are posted to the webhooks as each provider
posts them, and replies leave through the real client library to our stand-in server.
"""

from __future__ import annotations

from sqlalchemy import func, select, text

from surveys.storage.models import (
    Answer,
    Base,
    Inbound,
    Respondent,
    SafeguardingCase,
    SmsNumber,
)
from tests.sms.conftest import CHILD, OTHER


def count(rt, model) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def answers(rt) -> list[Answer]:
    with rt.transaction() as s:
        return list(s.scalars(select(Answer).order_by(Answer.id)))


def test_a_child_answers_a_round_by_text(rt, open_round, phone):
    p = phone()
    [consent] = p.say(f"{open_round} child")
    assert "Reply YES to start, STOP to stop." in consent.body
    [question] = p.say("yes")
    assert question.body.startswith("(1/")
    # Answer with the number, the word, and a misspelling; free text as it comes.
    while True:
        body = p.last()
        if "WITHDRAW" in body:
            break
        if "\n1 " in body:
            p.say("1")
        else:
            p.say("They listened to me")
    assert "In danger now? Call 999. Childline: 0800 1111" in p.last()
    stored = answers(rt)
    assert stored and all(a.channel == "sms" and a.audience == "child" for a in stored)
    with rt.transaction() as s:
        resp = s.scalars(select(Respondent)).one()
        assert resp.completed_at is not None


def test_choices_are_read_from_the_number_the_word_or_a_misspelling(rt, open_round, phone):
    p = phone()
    p.say(open_round + " child")
    p.say("YES")
    # policing.police_opinion first? Walk to the first choice question whatever it is.
    while "\n1 " not in p.last():
        p.say("skip")
    body = p.last()
    labels = [line.split(" ", 1)[1] for line in body.splitlines() if line[:2].strip().isdigit()]
    first = answers(rt)
    p.say(labels[0].lower())  # the word
    assert len(answers(rt)) == len(first) + 1
    assert answers(rt)[-1].text == labels[0]


def test_a_redelivered_text_stores_nothing_and_sends_nothing(rt, open_round, phone):
    p = phone()
    p.say(open_round + " child", times=3)
    assert len(p.new()) == 0  # everything was read above
    assert len(p.api.sent_to(CHILD)) == 1
    p.say("yes", times=3)
    assert len(p.api.sent_to(CHILD)) == 2
    while "\n1 " in p.last() or "(" in p.last()[:2]:
        before = len(answers(rt))
        p.deliver("1" if "\n1 " in p.last() else "Fine", times=3)
        assert len(answers(rt)) in (before, before + 1)
        if "WITHDRAW" in p.last():
            break
    keys = [a.inbound_key for a in answers(rt)]
    assert len(keys) == len(set(keys))
    sent = len(p.api.sent_to(CHILD))
    assert sent == count(rt, Inbound)  # one reply per distinct text, none per copy


def test_the_number_is_never_stored_in_clear(rt, open_round, phone, db_url):
    p = phone()
    p.say(open_round + " child")
    p.say("yes")
    p.say("1")
    digits = CHILD.lstrip("+")
    with rt.database.connect() as conn:
        if rt.database.dialect.name == "postgresql":
            dump = conn.execute(
                text(
                    "select string_agg(t::text, ' ') from ("
                    "select row_to_json(x)::text as t from respondents x union all "
                    "select row_to_json(x)::text from chat_links x union all "
                    "select row_to_json(x)::text from sms_numbers x union all "
                    "select row_to_json(x)::text from inbound x union all "
                    "select row_to_json(x)::text from answers x) q"
                )
            ).scalar()
        else:
            rows = []
            for table in ("respondents", "chat_links", "sms_numbers", "inbound", "answers"):
                rows += [str(tuple(r)) for r in conn.execute(text(f"select * from {table}"))]
            dump = " ".join(rows)
    assert digits not in dump and "7700900123" not in dump
    assert count(rt, SmsNumber) == 1


def test_help_and_999_come_in_the_same_reply_as_a_disclosure(rt, open_round, phone):
    p = phone()
    p.say(open_round + " child")
    p.say("yes")
    while "\n1 " in p.last():
        p.say("skip")
    [reply] = p.say("my uncle hits me and I am scared to go home")
    assert "Childline: 0800 1111" in reply.body
    assert count(rt, SafeguardingCase) == 1


def test_an_unknown_number_without_a_code_is_told_how_to_start(rt, open_round, phone):
    p = phone(OTHER)
    [reply] = p.say("hello?")
    assert "text the code" in reply.body
    assert count(rt, Answer) == 0 and count(rt, Respondent) == 0


def test_logs_carry_ids_never_the_number_or_the_text(rt, open_round, phone, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    p = phone()
    p.say(open_round + " child")
    p.say("yes")
    p.say("Zanzibarian pineapple answer")
    p.say("STOP")
    logged = caplog.text
    assert "7700900123" not in logged and "900123" not in logged
    assert "Zanzibarian" not in logged
    assert "sms:" in logged  # the delivery key (the provider's id) is what is logged


def test_a_whole_journey_with_every_text_delivered_three_times(rt, open_round, make_app, notify):
    """Every answer stored once, no text over 918 characters, the number nowhere in clear,
    and a forged callback refused with nothing stored."""
    from surveys.core import sms_text
    from tests.sms.conftest import NOTIFY_URL, Phone, notify_settings

    p = Phone(make_app(notify_settings(notify)).test_client(), notify, "notify")
    p.deliver(f"{open_round} child", times=3)
    p.deliver("YES", times=3)
    sent_answers = 0
    while "WITHDRAW" not in p.last():
        p.deliver("2" if "\n2 " in p.last() else "They should listen more", times=3)
        sent_answers += 1
    stored = answers(rt)
    assert len(stored) == sent_answers  # three copies of each, stored once
    assert len({a.inbound_key for a in stored}) == len(stored)
    assert len(notify.sent_to(CHILD)) == sent_answers + 2  # one reply per distinct text
    assert all(sms_text.count(t.body).characters <= 918 for t in notify.sent)
    before = (count(rt, Answer), count(rt, Inbound), len(notify.sent))
    forged, _ = notify.callback(CHILD, "forged answer")
    res = p.client.post(NOTIFY_URL, json=forged, headers={"Authorization": "Bearer forged"})
    assert res.status_code == 403
    assert (count(rt, Answer), count(rt, Inbound), len(notify.sent)) == before
    with rt.database.connect() as conn:
        tables = [t for t in Base.metadata.sorted_tables]
        for table in tables:
            for row in conn.execute(table.select()):
                assert "7700900123" not in " ".join(map(str, row)), table.name
