"""Storage promises, on SQLite and PostgreSQL: answers stored once, state survives."""

from sqlalchemy import func, select

from surveys.core import engine
from surveys.services import conversation
from surveys.storage import store
from surveys.storage.models import Answer, Respondent


def _start(rt, code, audience="child"):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience=audience)
        return resp.id


def _send(rt, rid, key, **kw):
    with rt.transaction() as s:
        return conversation.apply(s, rt.context, rid, engine.Inbound(**kw), key=key)


def test_answer_is_stored_and_duplicate_delivery_stored_once(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "k1", choice="yes")
    first = _send(rt, rid, "k2", text="they was fair with me")
    again = _send(rt, rid, "k2", text="they was fair with me")
    assert first.stored == 1 and not first.duplicate
    assert again.duplicate and again.stored == 0
    assert again.replies == ()  # a duplicate says nothing new
    with rt.transaction() as s:
        texts = s.scalars(select(Answer.text).where(Answer.respondent_id == rid)).all()
    assert texts == ["they was fair with me"]


def test_changed_answer_supersedes_the_old_one(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "a", choice="yes")
    _send(rt, rid, "b", text="first go")
    _send(rt, rid, "c", command="back")
    _send(rt, rid, "d", text="second go")
    with rt.transaction() as s:
        rows = s.execute(
            select(Answer.text, Answer.superseded)
            .where(Answer.respondent_id == rid)
            .order_by(Answer.id)
        ).all()
    assert [tuple(r) for r in rows] == [("first go", True), ("second go", False)]


def test_state_survives_a_new_process(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "a", choice="yes")
    rt.database.dispose()  # as if the process restarted: nothing is kept in memory
    with rt.transaction() as s:
        resp = s.get(Respondent, rid)
        state = engine.State.from_dict(resp.state)
        replies = conversation.current_replies(resp.round, resp, rt.context)
    assert state.stage == "question"
    assert replies[0].question_id == state.current


def test_closed_round_refuses_answers(rt, open_round):
    rid = _start(rt, open_round)
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    try:
        _send(rt, rid, "a", choice="yes")
    except store.RoundClosed:
        pass
    else:
        raise AssertionError("a closed round took an answer")
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 0


def test_unknown_round_code_is_not_found(rt):
    with rt.transaction() as s:
        for code in ["NOPE", "", "x" * 500, "<script>"]:
            try:
                store.get_round(s, code)
            except store.RoundNotFound:
                continue
            raise AssertionError(code)
