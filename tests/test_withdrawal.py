"""Withdrawal promises, on SQLite and PostgreSQL: the code deletes that respondent's answers
and the respondent; a wrong, reused, expired or malformed code reveals nothing; the audit
event holds counts, never the code; an open safeguarding disclosure is kept until closed."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from surveys.core import engine
from surveys.services import conversation, safeguarding, withdrawal
from surveys.services.accounts import upsert_user
from surveys.storage import store
from surveys.storage.models import (
    Answer,
    AuditEvent,
    ChatLink,
    Inbound,
    Proposal,
    Respondent,
    Round,
    SafeguardingCase,
)


def _start(rt, code, *, channel="web", resume_key=None):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(
            s, rnd, rt.context, channel=channel, resume_key=resume_key, audience="child"
        )
        return resp.id


def _send(rt, rid, key, **kw):
    with rt.transaction() as s:
        return conversation.apply(s, rt.context, rid, engine.Inbound(**kw), key=key)


def _answered(rt, code, *texts, **start):
    rid = _start(rt, code, **start)
    _send(rt, rid, f"{rid}:consent", choice="yes")
    for i, text in enumerate(texts):
        _send(rt, rid, f"{rid}:{i}", text=text)
        _send(rt, rid, f"{rid}:{i}:skip", command="skip")  # whatever comes next
    return rid


def _code(rt, rid):
    return store.withdrawal_code(rt.settings.secret_key, rid)


def _count(rt, model, *where):
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_withdraw_deletes_the_answers_and_the_respondent(rt, open_round):
    rid = _answered(rt, open_round, "they was fair with me", "school is ok")
    other = _answered(rt, open_round, "someone else's words")
    assert _count(rt, Answer, Answer.respondent_id == rid) == 2
    with rt.transaction() as s:
        assert withdrawal.find(s, _code(rt, rid)).id == rid
        result = withdrawal.withdraw(s, _code(rt, rid))
    assert result.found and result.answers == 2 and result.respondents == 1
    assert _count(rt, Answer, Answer.respondent_id == rid) == 0
    assert _count(rt, Respondent, Respondent.id == rid) == 0
    assert _count(rt, Inbound, Inbound.respondent_id == rid) == 0
    assert _count(rt, Answer, Answer.respondent_id == other) == 1  # nobody else's


def test_code_is_accepted_as_a_young_person_types_it(rt, open_round):
    rid = _answered(rt, open_round, "fine")
    typed = " " + _code(rt, rid).lower().replace("-", " ") + " "
    with rt.transaction() as s:
        assert withdrawal.withdraw(s, typed).found


@pytest.mark.parametrize(
    "bad", ["", "ABCD-EFGH", "not a code at all", "'; drop table answers; --", "Z" * 10_000, None]
)
def test_wrong_or_malformed_code_reveals_nothing_and_deletes_nothing(rt, open_round, bad):
    rid = _answered(rt, open_round, "mine")
    with rt.transaction() as s:
        assert withdrawal.find(s, bad) is None
        assert withdrawal.withdraw(s, bad) == withdrawal.NOT_FOUND
    assert _count(rt, Answer, Answer.respondent_id == rid) == 1
    assert _count(rt, AuditEvent, AuditEvent.action == "withdrawal") == 0


def test_reused_code_gets_the_same_answer_as_a_wrong_one(rt, open_round):
    rid = _answered(rt, open_round, "mine")
    with rt.transaction() as s:
        assert withdrawal.withdraw(s, _code(rt, rid)).found
    with rt.transaction() as s:
        again = withdrawal.withdraw(s, _code(rt, rid))
        wrong = withdrawal.withdraw(s, "ABCD-EFGH")
    assert again == wrong == withdrawal.NOT_FOUND
    assert _count(rt, AuditEvent, AuditEvent.action == "withdrawal") == 1


def test_expired_code_round_deleted_gets_the_same_answer(rt, open_round):
    rid = _answered(rt, open_round, "mine")
    with rt.transaction() as s:
        s.execute(delete(Round).where(Round.code == open_round))  # the database cascades
    with rt.transaction() as s:
        assert withdrawal.withdraw(s, _code(rt, rid)) == withdrawal.NOT_FOUND


def test_audit_event_has_counts_and_never_the_code(rt, open_round):
    rid = _answered(rt, open_round, "they was fair with me")
    code = _code(rt, rid)
    with rt.transaction() as s:
        withdrawal.withdraw(s, code)
    with rt.transaction() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "withdrawal")).one()
        assert event.details["answers"] == 1 and event.details["respondents"] == 1
        dumped = repr((event.target, event.actor_label, event.details))
    for secret in (code, code.replace("-", ""), store.withdrawal_hash(code), rid, "they was fair"):
        assert secret not in dumped


def test_withdraw_deletes_chat_links_and_proposals(rt, open_round):
    rid = _answered(rt, open_round, "mine", channel="telegram", resume_key="k" * 64)
    with rt.transaction() as s:
        store.link_chat(s, "telegram", "k" * 64, rid)
        rnd = store.get_round(s, open_round)
        s.add(
            Proposal(
                round_id=rnd.id,
                respondent_id=rid,
                priority="policing",
                agency="YJS",
                achieve="a",
                do="b",
                evidence="c",
            )
        )
    with rt.transaction() as s:
        result = withdrawal.withdraw(s, _code(rt, rid), channel="telegram")
    assert result.chat_links == 1 and result.proposals == 1
    assert _count(rt, ChatLink) == 0 and _count(rt, Proposal) == 0


def _flagged(rt, code):
    rid = _answered(rt, code, "they was fair with me")
    out = _send(rt, rid, f"{rid}:hurt", text="my dad hits me and I am scared to go home")
    assert out.flagged
    return rid


def test_open_safeguarding_case_is_kept_until_closed_the_rest_goes(rt, open_round):
    rid = _flagged(rt, open_round)
    with rt.transaction() as s:
        result = withdrawal.withdraw(s, _code(rt, rid))
    assert result.found and result.cases_kept == 1 and result.answers == 1
    assert result.respondents == 0
    with rt.transaction() as s:
        case = s.scalars(select(SafeguardingCase)).one()
        kept = s.get(Answer, case.answer_id)
        assert kept.flagged and kept.respondent_id == rid
        assert s.scalar(select(func.count()).select_from(Answer)) == 1
        anchor = s.get(Respondent, rid)
        assert anchor.resume_key is None and anchor.state == withdrawal.WITHDRAWN_STATE
    # The code no longer finds anything: a second try looks like a wrong code.
    with rt.transaction() as s:
        assert withdrawal.withdraw(s, _code(rt, rid)) == withdrawal.NOT_FOUND


def test_closed_safeguarding_case_goes_with_the_answers(rt, open_round):
    rid = _flagged(rt, open_round)
    with rt.transaction() as s:
        lead = upsert_user(
            s, "dsl@yjs.example.org", "correct horse battery staple", role="safeguarding"
        )
        s.flush()
        case = s.scalars(select(SafeguardingCase)).one()
        safeguarding.acknowledge(s, case.id, lead.id)
        safeguarding.record_action(s, case.id, lead.id, "Spoke to the young person.")
        safeguarding.close(s, case.id, lead.id)
    with rt.transaction() as s:
        result = withdrawal.withdraw(s, _code(rt, rid))
    assert result.cases_deleted == 1 and result.cases_kept == 0 and result.respondents == 1
    assert _count(rt, SafeguardingCase) == 0 and _count(rt, Answer) == 0


def test_delete_chat_deletes_every_round_the_chat_answered(rt, open_round):
    key = "c" * 64
    with rt.transaction() as s:
        second = store.open_round(
            s, rt.catalogue, title="Second", priorities=["policing"], audiences=["child"]
        ).code
    first_id = _answered(rt, open_round, "one", channel="telegram", resume_key=key)
    second_id = _answered(rt, second, "two", channel="telegram", resume_key=key)
    other = _answered(rt, open_round, "not this chat", channel="telegram", resume_key="d" * 64)
    with rt.transaction() as s:
        store.link_chat(s, "telegram", key, second_id)
    with rt.transaction() as s:
        totals = withdrawal.delete_chat(s, key)
    assert totals["respondents"] == 2 and totals["answers"] == 2 and totals["chat_links"] == 1
    assert _count(rt, Respondent, Respondent.id.in_([first_id, second_id])) == 0
    assert _count(rt, Respondent, Respondent.id == other) == 1
    assert _count(rt, Round) == 2  # the rounds themselves stay
    with rt.transaction() as s:
        again = withdrawal.delete_chat(s, key)
    assert again["respondents"] == 0
