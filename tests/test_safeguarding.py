"""The safeguarding queue's promises: every flagged answer gets one case, hooks hear of it in
the same transaction, and a case moves new -> acknowledged -> closed with what was done on
record. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveys.core.catalogue import default_catalogue
from surveys.services import conversation, safeguarding
from surveys.services.accounts import upsert_user
from surveys.storage import store
from surveys.storage.models import Answer, Respondent, SafeguardingCase, utcnow
from tests.conftest import TEST_SECRET


@pytest.fixture
def people(rt):
    """Return (safeguarding lead id, their email)."""
    with rt.transaction() as s:
        user = upsert_user(
            s, "dsl@yjs.example.org", "correct horse battery staple", role="safeguarding"
        )
        s.flush()
        return user.id, user.email


def add_answer(session, code, text="my dad hits me", *, channel="web", audience="child"):
    """Store one answer in a round and return it (no analysis: the queue does not need it)."""
    rnd = store.get_round(session, code)
    resp, _ = conversation.start(
        session,
        rnd,
        conversation.Context(default_catalogue(), TEST_SECRET),
        channel=channel,
        audience=audience,
    )
    answer = Answer(
        round_id=rnd.id,
        respondent_id=resp.id,
        priority="policing",
        question_id="policing.opinion",
        audience=audience,
        channel=channel,
        text=text,
        inbound_key=f"t:{resp.id}",
        flagged=True,
        flag_categories=["physical_abuse"],
    )
    session.add(answer)
    session.flush()
    return answer


def open_one(rt, code, *, contact=None, **kw) -> int:
    with rt.transaction() as s:
        case = safeguarding.open_case(
            s, add_answer(s, code, **kw), ["physical_abuse"], contact=contact
        )
        return case.id


def test_a_flagged_answer_gets_exactly_one_case(rt, open_round):
    with rt.transaction() as s:
        answer = add_answer(s, open_round)
        first = safeguarding.open_case(s, answer, ["physical_abuse"])
        again = safeguarding.open_case(s, answer, ["physical_abuse"])
        assert first.id == again.id
        assert safeguarding.open_cases(s, [(answer, ["x"])]) == []
        assert s.scalar(select(func.count()).select_from(SafeguardingCase)) == 1


def test_hooks_hear_of_each_new_case_inside_the_transaction(rt, open_round):
    heard = []

    def outbox(session, case):
        heard.append((case.id, case.round_id, list(case.categories), session.in_transaction()))

    with safeguarding.case_hook(outbox), rt.transaction() as s:
        a, b = add_answer(s, open_round), add_answer(s, open_round, "someone is grooming me")
        cases = safeguarding.open_cases(s, [(a, ["physical_abuse"]), (b, ["exploitation"])])
    assert [h[0] for h in heard] == [c.id for c in cases]
    assert heard[1][2] == ["exploitation"] and all(h[3] for h in heard)
    open_one(rt, open_round)
    assert len(heard) == 2  # unregistered after the block


def test_a_failing_hook_rolls_the_case_back_with_the_answer(rt, open_round):
    def broken(session, case):
        raise RuntimeError("outbox table missing")

    with safeguarding.case_hook(broken), pytest.raises(RuntimeError), rt.transaction() as s:
        safeguarding.open_case(s, add_answer(s, open_round), ["physical_abuse"])
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(SafeguardingCase)) == 0
        assert s.scalar(select(func.count()).select_from(Answer)) == 0


def test_registering_a_hook_twice_calls_it_once(rt, open_round):
    calls = []

    def hook(session, case):
        calls.append(case.id)

    safeguarding.on_case_opened(hook)
    safeguarding.on_case_opened(hook)
    try:
        open_one(rt, open_round)
    finally:
        safeguarding.remove_hook(hook)
    assert len(calls) == 1


def test_queue_shows_raw_text_category_time_channel_and_contact(rt, open_round):
    cid = open_one(rt, open_round, channel="telegram", contact="text me on the number I gave")
    with rt.transaction() as s:
        [view] = safeguarding.list_cases(s)
        assert view.id == cid and view.text == "my dad hits me"
        assert view.categories == ("physical_abuse",) and view.channel == "telegram"
        assert view.contact == "text me on the number I gave"
        assert view.round_code == open_round and view.respondent.startswith("R-")
        assert view.created_at.tzinfo is not None and view.is_open


def test_acknowledge_record_and_close(rt, open_round, people):
    uid, email = people
    cid = open_one(rt, open_round)
    with rt.transaction() as s:
        safeguarding.acknowledge(s, cid, uid)
        safeguarding.acknowledge(s, cid, uid)  # idempotent
    with rt.transaction() as s:
        safeguarding.record_action(s, cid, uid, "Rang the case manager.", who=email)
        safeguarding.record_action(s, cid, uid, "  Referral made to MASH.  ", who=email)
    with rt.transaction() as s:
        safeguarding.close(s, cid, uid)
    with rt.transaction() as s:
        view = safeguarding.get_case(s, cid)
        assert view.status == "closed" and not view.is_open
        assert view.acknowledged_by == email and view.closed_by == email
        assert "Rang the case manager." in view.action_note
        assert view.action_note.index("Rang") < view.action_note.index("Referral made to MASH.")
        assert f"UK time · {email}" in view.action_note
        assert safeguarding.list_cases(s) == []
        assert [c.id for c in safeguarding.list_cases(s, status="closed")] == [cid]


def test_recording_an_action_acknowledges_a_new_case(rt, open_round, people):
    uid, _ = people
    cid = open_one(rt, open_round)
    with rt.transaction() as s:
        safeguarding.record_action(s, cid, uid, "Spoke to the young person's worker.")
        assert safeguarding.get_case(s, cid).status == "acknowledged"


def test_closing_needs_what_was_done_on_record(rt, open_round, people):
    uid, _ = people
    cid = open_one(rt, open_round)
    with (
        pytest.raises(safeguarding.InvalidNote, match="record what was done"),
        rt.transaction() as s,
    ):
        safeguarding.close(s, cid, uid)
    with rt.transaction() as s:
        safeguarding.close(s, cid, uid, "Police informed; family visited.")
        assert safeguarding.get_case(s, cid).status == "closed"


@pytest.mark.parametrize("note", ["", "   \n ", "x" * (safeguarding.MAX_NOTE + 1)])
def test_empty_or_huge_notes_are_refused(rt, open_round, people, note):
    uid, _ = people
    cid = open_one(rt, open_round)
    with pytest.raises(safeguarding.InvalidNote), rt.transaction() as s:
        safeguarding.record_action(s, cid, uid, note)


def test_a_closed_case_takes_no_more_notes(rt, open_round, people):
    uid, _ = people
    cid = open_one(rt, open_round)
    with rt.transaction() as s:
        safeguarding.close(s, cid, uid, "Done.")
    with pytest.raises(safeguarding.CaseClosed), rt.transaction() as s:
        safeguarding.record_action(s, cid, uid, "more")


def test_unknown_case(rt):
    with rt.transaction() as s:
        with pytest.raises(safeguarding.CaseNotFound):
            safeguarding.get_case(s, 999)
        with pytest.raises(safeguarding.CaseNotFound):
            safeguarding.acknowledge(s, 999, 1)


def test_overdue_means_unacknowledged_for_longer_than_the_limit(rt, open_round, people):
    uid, _ = people
    old, acked, fresh = (open_one(rt, open_round) for _ in range(3))
    with rt.transaction() as s:
        for cid in (old, acked):
            s.get(SafeguardingCase, cid).created_at = utcnow() - timedelta(hours=2)
        safeguarding.acknowledge(s, acked, uid)
    with rt.transaction() as s:
        assert safeguarding.overdue_count(s) == 1
        assert safeguarding.overdue_count(s, after=timedelta(hours=3)) == 0
        assert safeguarding.overdue_count(s, after=timedelta(seconds=0)) == 2
        views = {v.id: v for v in safeguarding.list_cases(s)}
        assert views[old].overdue() and not views[acked].overdue() and not views[fresh].overdue()
        assert safeguarding.open_count(s) == 3


def test_withdrawn_respondent_takes_the_case_with_them(rt, open_round):
    cid = open_one(rt, open_round)
    with rt.transaction() as s:
        case = s.get(SafeguardingCase, cid)
        answer = s.get(Answer, case.answer_id)
        s.delete(s.get(Respondent, answer.respondent_id))
    with rt.transaction() as s:
        assert safeguarding.list_cases(s, status="all") == []


def _queued(s, code) -> list[int]:
    from surveys.services import review

    rnd = store.get_round(s, code)
    return [i.id for i in review.queue(s, rnd, review.QueueFilter(status="all")).items]


def _possible(rt, code) -> tuple[int, int]:
    """Open a possible-concern case (the recall net's tier); return (case id, answer id)."""
    with rt.transaction() as s:
        answer = add_answer(s, code, "nobody would notice if i was gone tbh")
        case = safeguarding.open_case(
            s, answer, {"categories": ["suicidal"], "tier": "possible", "score": 0.41}
        )
        return case.id, answer.id


def test_a_possible_concern_cleared_as_no_concern_frees_the_answer(rt, open_round, people):
    from surveys.storage.models import AuditEvent

    uid, email = people
    cid, aid = _possible(rt, open_round)
    with rt.transaction() as s:
        assert aid not in _queued(s, open_round)
    with pytest.raises(safeguarding.InvalidNote, match="say why"), rt.transaction() as s:
        safeguarding.clear(s, cid, uid, "  ")
    with rt.transaction() as s:
        safeguarding.clear(s, cid, uid, "Read it with the worker: a song lyric.", who=email)
    with rt.transaction() as s:
        view = safeguarding.get_case(s, cid)
        assert view.status == "cleared" and not view.is_open
        assert "No concern: Read it with the worker" in view.action_note
        assert s.get(Answer, aid).flagged is False
        assert [c.id for c in safeguarding.list_cases(s, status="closed")] == [cid]
        assert aid in _queued(s, open_round)
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "safeguarding_case_cleared"))
            .one()
            .target
            == f"case:{cid}"
        )
    with pytest.raises(safeguarding.CaseClosed), rt.transaction() as s:
        safeguarding.clear(s, cid, uid, "again")


def test_a_hard_flag_is_never_cleared(rt, open_round, people):
    uid, _ = people
    cid = open_one(rt, open_round)
    with pytest.raises(safeguarding.HardFlagStays), rt.transaction() as s:
        safeguarding.clear(s, cid, uid, "Looks fine to me.")
    with rt.transaction() as s:
        view = safeguarding.get_case(s, cid)
        assert view.status == "new" and view.action_note is None
        assert s.get(SafeguardingCase, cid) is not None
