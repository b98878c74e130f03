"""Keywords by text (STOP, START, HELP, SKIP, BACK), withdrawal, re-asks and long silences."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from surveys.storage.models import Answer, Respondent, SmsNumber, utcnow
from tests.sms.conftest import CHILD


def count(rt, model) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def start(p, code):
    p.say(f"{code} child")
    return p.say("yes")


def to_choice_question(p):
    while "\n1 " not in p.last():
        p.say("skip")


def test_stop_means_no_more_texts_until_start(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    confirmation = p.say("Stop")
    if p.provider == "notify":  # Notify leaves opt-out to us: one confirmation
        assert "You will not get any more texts" in confirmation[0].body
    else:  # Twilio confirms a STOP itself, and would refuse our text
        assert confirmation == []
    with rt.transaction() as s:
        assert s.scalars(select(SmsNumber)).one().opted_out_at is not None
    assert p.say("hello") == [] and p.say("1") == [] and p.say(open_round) == []
    answered = count(rt, Answer)
    assert answered == 0
    back = p.say("START")
    assert "You can get texts from us again" in back[0].body or "Hi again" in back[0].body
    assert back[0].body.rstrip().endswith("?") or "\n" in back[0].body  # the question again


def test_stop_mid_question_keeps_earlier_answers(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    p.say("An answer")
    assert count(rt, Answer) == 1
    p.say("STOP")
    assert count(rt, Answer) == 1
    [again] = p.say("start")
    assert "(2/" in again.body


def test_twilio_refusing_a_number_puts_it_on_our_suppression_list(rt, open_round, phone):
    p = phone()
    if p.provider != "twilio":
        return
    p.api.opt_out(CHILD)  # the number texted STOP to Twilio directly
    assert p.say(f"{open_round} child") == []
    with rt.transaction() as s:
        assert s.scalars(select(SmsNumber)).one().opted_out_at is not None


def test_help_gives_999_and_childline(rt, open_round, phone):
    p = phone()
    [idle] = p.say("HELP")
    assert "999" in idle.body and "0800 1111" in idle.body and "text the code" in idle.body
    start(p, open_round)
    [help_] = p.say("help")
    assert "SKIP" in help_.body and "Childline: 0800 1111" in help_.body


def test_skip_and_back(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    [second] = p.say("skip")
    assert "(2/" in second.body
    [back] = p.say("BACK")
    assert "(1/" in back.body


def test_an_unreadable_reply_is_asked_again_once_then_skipped(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    to_choice_question(p)
    asked = p.last()
    position = asked.split(")")[0]
    [again] = p.say("banana")
    assert "Reply with a number" in again.body and again.body.endswith(asked.split("\n")[-1])
    [moved_on] = p.say("banana")
    assert "skip that one" in moved_on.body
    assert position not in moved_on.body.split("\n\n")[-1][: len(position)]
    assert count(rt, Answer) == 0


def test_a_reply_after_a_long_silence_is_welcomed_back(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    with rt.transaction() as s:
        s.execute(update(SmsNumber).values(seen_at=utcnow() - timedelta(days=4)))
    [welcome] = p.say("Something")
    assert "Welcome back" in welcome.body and "carry on" in welcome.body
    assert count(rt, Answer) == 0  # the old question was not answered by it
    [question] = p.say("yes")
    assert "(1/" in question.body


def test_withdrawal_by_text(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    while "WITHDRAW" not in p.last():
        p.say("1" if "\n1 " in p.last() else "Fine")
    code = p.last().split("WITHDRAW ")[1].split()[0]
    assert count(rt, Answer) > 0
    [sure] = p.say(f"withdraw {code}")
    assert "DELETE" in sure.body
    assert count(rt, Answer) > 0
    [done] = p.say(f"DELETE {code}")
    assert "deleted" in done.body
    assert count(rt, Answer) == 0 and count(rt, Respondent) == 0
    [again] = p.say(f"DELETE {code}")
    assert "could not find" in again.body


def test_a_closed_round_says_so(rt, open_round, phone):
    p = phone()
    start(p, open_round)
    with rt.transaction() as s:
        from surveys.storage import store

        store.set_status(s, open_round, "closed")
    [closed] = p.say("An answer")
    assert "closed" in closed.body
    assert count(rt, Answer) == 0


def test_a_wrong_code_is_answered(rt, open_round, phone):
    p = phone()
    [reply] = p.say("ZZZZZZ")
    assert "can't find that code" in reply.body
