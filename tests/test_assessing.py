"""The second reading in a worker (surveys.services.assessing): an answer is stored and
acknowledged with its hard-flag check at once; the recall net and heads read it just after,
once, and a possible concern opens one case. No queue runs here unless a test runs it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from surveys import jobs
from surveys.analysis import pipeline
from surveys.core import engine
from surveys.export.plan import NoApprovedQuotes
from surveys.jobs import registry, table
from surveys.services import assessing, conversation, exporting, review
from surveys.storage import queries, store
from surveys.storage.models import Answer, Job, Respondent, SafeguardingCase, utcnow

#: No keyword of the lexicon: only the recall net raises it (tests/test_assess.py).
POSSIBLE = "the man at the shop gives me free stuff and says its our secret"
HARD = "school is ok. my stepdad hits me when he is drunk"
ORDINARY = "the police were fair with me when i got arrested"


def _start(rt, code):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="child")
    _send(rt, resp.id, f"consent-{resp.id}", choice="yes")
    return resp.id


def _send(rt, rid, key, **kw):
    with rt.transaction() as s:
        return conversation.apply(s, rt.context, rid, engine.Inbound(**kw), key=key)


def _answer(rt, rid) -> Answer:
    with rt.sessions() as s:
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid, Answer.choice.is_(None)))
        s.expunge(a)
        return a


def _cases(rt) -> list[SafeguardingCase]:
    with rt.sessions() as s:
        found = list(s.scalars(select(SafeguardingCase).order_by(SafeguardingCase.id)))
        s.expunge_all()
        return found


def _assess_jobs(rt) -> list[Job]:
    with rt.sessions() as s:
        found = list(s.scalars(select(Job).where(Job.kind == assessing.KIND)))
        s.expunge_all()
        return found


def test_an_answer_is_stored_and_acknowledged_before_the_net_reads_it(rt, open_round):
    rid = _start(rt, open_round)
    turn = _send(rt, rid, "a1", text=POSSIBLE)
    assert turn.stored == 1 and not turn.flagged and turn.replies[-1].kind == "prompt"
    a = _answer(rt, rid)
    assert a.assessed_at is None and not a.flagged and a.flag_score is None
    assert a.redacted and a.sentiment and a.priority_guess  # the first reading is all there
    assert _cases(rt) == []
    [job] = _assess_jobs(rt)
    assert job.status == "queued" and job.params == {}  # ids only, never the words

    counts = assessing.read_waiting(rt.sessions)
    assert counts == {"answers": 1, "cases": 1, "batches": 1}
    a = _answer(rt, rid)
    assert a.assessed_at is not None and a.assess_lease_until is None
    assert a.flagged and a.flag_tier == "possible" and 0 < a.flag_score <= 1
    [case] = _cases(rt)
    assert case.answer_id == a.id and case.tier == "possible" and case.score == a.flag_score
    assert case.categories and case.categories == a.flag_categories
    [(x, y)] = case.trigger_spans
    assert 0 <= x < y <= len(POSSIBLE)
    with rt.sessions() as s:
        assert s.get(Respondent, rid).disclosed_at is not None  # help stays in the footer


def test_a_hard_flag_shows_help_and_opens_its_case_at_once_and_keeps_its_tier(rt, open_round):
    rid = _start(rt, open_round)
    turn = _send(rt, rid, "a1", text=HARD)
    assert turn.flagged and turn.replies[0].stage == "disclosure"
    [case] = _cases(rt)
    assert case.tier == "flag" and _answer(rt, rid).assessed_at is None
    assessing.read_waiting(rt.sessions)
    a = _answer(rt, rid)
    assert a.assessed_at is not None and a.flag_tier == "flag" and a.flagged
    assert a.flag_score is not None  # the net's score is kept beside the hard flag
    assert [c.tier for c in _cases(rt)] == ["flag"]  # never a second case, never downgraded


def test_the_heads_replace_the_rules_reading(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "a1", text=ORDINARY)
    assessing.read_waiting(rt.sessions)
    a = _answer(rt, rid)
    assert not a.flagged and a.assessed_at is not None
    from surveys.analysis import assess

    net = assess.assess(ORDINARY, question_priority=a.priority, question_id=a.question_id)
    assert (a.sentiment, a.priority_guess) == (net.sentiment, net.priority)
    assert a.flag_score == pytest.approx(net.score, abs=1e-4)


def test_a_tapped_choice_needs_no_second_reading():
    tapped = pipeline.first_reading("Very good", choice="very_good")
    assert not tapped.pending and pipeline.columns(tapped)["assessed_at"] is not None
    written = pipeline.first_reading("very good, they listened")
    assert written.pending and pipeline.columns(written)["assessed_at"] is None


def test_a_duplicate_delivery_and_a_rerun_open_one_case(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "same", text=POSSIBLE)
    assert _send(rt, rid, "same", text=POSSIBLE).duplicate
    assert len(_assess_jobs(rt)) == 1
    assert assessing.read_waiting(rt.sessions)["cases"] == 1
    assert assessing.read_waiting(rt.sessions) == {"answers": 0, "cases": 0, "batches": 0}
    # The whole job again (a worker killed after it wrote, before it said so).
    job_id = _assess_jobs(rt)[0].id
    assert jobs.run_job(job_id, sessions=rt.sessions, settings=rt.settings, worker="t") == "done"
    with rt.sessions() as s:
        assert s.get(Job, job_id).result == {"answers": 0, "cases": 0, "batches": 0}
    assert len(_cases(rt)) == 1


def test_two_runs_reading_the_same_answer_store_it_once(rt, open_round):
    """A run so slow that its hold ran out: another run read the same answer meanwhile."""
    rid = _start(rt, open_round)
    _send(rt, rid, "a1", text=POSSIBLE)
    now = utcnow()
    first = assessing.take(rt.sessions, now, timedelta(seconds=60))
    assert assessing.take(rt.sessions, now, timedelta(seconds=60)) == []  # held
    later = now + timedelta(seconds=61)
    second = assessing.take(rt.sessions, later, timedelta(seconds=60))
    assert [w.id for w in first] == [w.id for w in second]
    for batch, when in ((second, later), (first, later)):
        with rt.transaction() as s:
            written, opened = assessing.store(s, batch, assessing.read(batch), when)
        assert (written, opened) == ((1, 1) if batch is second else (0, 0))
    assert len(_cases(rt)) == 1


def test_many_answers_are_read_in_batches_by_one_job(rt, open_round):
    rids = [_start(rt, open_round) for _ in range(assessing.BATCH + 3)]
    for i, rid in enumerate(rids):
        _send(rt, rid, f"a{i}", text=ORDINARY)
    [job] = _assess_jobs(rt)  # one job waits for the whole burst
    assert jobs.run_job(job.id, sessions=rt.sessions, settings=rt.settings, worker="t") == "done"
    with rt.sessions() as s:
        assert s.get(Job, job.id).result == {"answers": len(rids), "cases": 0, "batches": 2}
        assert s.scalar(select(Answer.id).where(Answer.assessed_at.is_(None))) is None


def test_an_import_is_read_by_one_job(rt, open_round):
    from surveys.services import importer
    from tests.conftest import TEST_SECRET
    from tests.test_importer import csv_bytes

    rows = [["child", "education", "education.experience", t, f"P{i}"]
            for i, t in enumerate([POSSIBLE, HARD, ORDINARY])]  # fmt: skip
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        preview = importer.preview_for_round(csv_bytes(rows), rnd, rt.catalogue)
        result = importer.commit(s, rnd, preview, secret=TEST_SECRET)
    assert result.answers == 3 and result.flagged == 1 and len(result.cases) == 1  # the hard one
    [job] = _assess_jobs(rt)
    jobs.run_job(job.id, sessions=rt.sessions, settings=rt.settings, worker="t")
    with rt.sessions() as s:
        assert s.get(Job, job.id).result == {"answers": 3, "cases": 1, "batches": 1}
    assert sorted(c.tier for c in _cases(rt)) == ["flag", "possible"]


def _quote_it(rt, rid):
    """Approve and choose an answer as a quote behind the review service's back."""
    with rt.transaction() as s:
        s.execute(
            update(Answer)
            .where(Answer.respondent_id == rid, Answer.choice.is_(None))
            .values(review_status="approved", is_quote=True)
        )


def test_an_answer_being_read_is_not_quotable_nor_exported(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "a1", text=ORDINARY)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid, Answer.choice.is_(None)))
        with pytest.raises(review.ReviewError, match="still being read"):
            review.decide([a], "quote", None)
        with pytest.raises(review.ReviewError, match="still being read"):
            review.use_as_quote(a, None)
        page = review.queue(s, rnd, review.QueueFilter(status="all"))
        assert [i.being_read for i in page.items] == [True]
        assert review.approve_unflagged(s, rnd, as_quotes=True).approved == 0
    _quote_it(rt, rid)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        assert assessing.being_read(s, rnd) == 1
        assert not any(r.quotable for r in queries.plan_rows(s, rnd))
        assert review.quotes(s, rnd)[2] == 0
        for fmt in ("csv", "md"):
            with pytest.raises(NoApprovedQuotes):
                exporting.export_plan(s, rnd, rt.catalogue, fmt, io.StringIO(), actor="test")

    assessing.read_waiting(rt.sessions)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        assert assessing.being_read(s, rnd) == 0
        assert [r.quotable for r in queries.plan_rows(s, rnd) if r.choice is None] == [True]
        out = io.StringIO()
        exporting.export_plan(s, rnd, rt.catalogue, "csv", out, actor="test")
        assert "the police were fair" in out.getvalue()


def test_the_sweep_reads_an_answer_left_unread(rt, open_round):
    rid = _start(rt, open_round)
    _send(rt, rid, "a1", text=POSSIBLE)
    with rt.transaction() as s:  # its job is lost for good (out of attempts, deleted by hand)
        s.execute(update(Job).where(Job.kind == assessing.KIND).values(status="failed"))
    kinds = registry.load_kinds().values()
    soon = utcnow() + timedelta(minutes=1)
    table.sweep(rt.sessions, soon, kinds=kinds)
    jobs.run_due(rt.sessions, rt.settings, clock=lambda: soon)
    assert _answer(rt, rid).assessed_at is None  # not stranded yet: a worker may be on it
    later = utcnow() + assessing.STRANDED + timedelta(minutes=1)
    table.sweep(rt.sessions, later, kinds=kinds)  # queues the periodic sweep job
    jobs.run_due(rt.sessions, rt.settings, clock=lambda: later)  # it queues a reading; read
    a = _answer(rt, rid)
    assert a.assessed_at is not None and a.flag_tier == "possible"
    [case] = _cases(rt)
    assert case.tier == "possible"


def test_a_batch_the_model_fails_on_is_read_one_by_one(rt, open_round, monkeypatch):
    """An answer the model cannot read goes to a person ("not read automatically")."""
    from surveys.analysis import assess

    rids = [_start(rt, open_round) for _ in range(2)]
    _send(rt, rids[0], "a0", text=ORDINARY)
    _send(rt, rids[1], "a1", text="this one breaks the model")
    real = assess.assess_many

    def fragile(texts, **kw):
        if any("breaks the model" in t for t in texts):
            raise ValueError("the model fell over")
        return real(texts, **kw)

    monkeypatch.setattr(assess, "assess_many", fragile)
    assert assessing.read_waiting(rt.sessions) == {"answers": 2, "cases": 1, "batches": 1}
    assert not _answer(rt, rids[0]).flagged
    broken = _answer(rt, rids[1])
    assert broken.flag_tier == "possible" and broken.flag_categories == ["not_read_automatically"]


@pytest.mark.backends("postgres")
def test_a_job_finishing_waits_for_an_answer_being_committed(rt, open_round):
    """The race a running job could lose: an answer whose transaction saw the job waiting
    (so queued no other) commits after the job last looked. The job waits for it, reads it."""
    import threading
    import time

    from sqlalchemy import text

    first, second = _start(rt, open_round), _start(rt, open_round)
    _send(rt, first, "a0", text=ORDINARY)  # queues the job
    storing = rt.sessions()
    storing.begin()
    conversation.apply(storing, rt.context, second, engine.Inbound(text=POSSIBLE), key="a1")
    assert len(_assess_jobs(rt)) == 1  # it found the job waiting: no second one

    counts: dict[str, int] = {}
    job = threading.Thread(target=lambda: counts.update(assessing.read_waiting(rt.sessions)))
    job.start()
    deadline = time.monotonic() + 60
    with rt.sessions() as s:
        waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        while not s.execute(waiting).scalar() and time.monotonic() < deadline:
            s.rollback()
            time.sleep(0.05)
    assert job.is_alive()  # read the first answer, now waiting for the one being stored
    storing.commit()
    storing.close()
    job.join(timeout=60)
    assert counts == {"answers": 2, "cases": 1, "batches": 2}


@pytest.mark.parametrize("gather", [0.0, 0.5])
def test_answers_arriving_while_a_batch_is_read_are_gathered(rt, open_round, gather):
    """A job reads a stream of answers a batch per ``gather`` seconds, not one pass each."""
    rids = [_start(rt, open_round) for _ in range(3)]
    _send(rt, rids[0], "a0", text=ORDINARY)
    waits: list[float] = []
    now = [0.0]  # the run's clock moves only when it sleeps: however slow the read, no wait is
    # used up by it (a cold model on a loaded machine once took more than the 0.5 s here)

    def arrives_during_the_read(done: int) -> None:
        if done == 1:  # the first batch is written: a second answer came in meanwhile
            _send(rt, rids[1], "a1", text=ORDINARY)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds
        _send(rt, rids[2], "a2", text=POSSIBLE)  # and a third while the job waits

    counts = assessing.read_waiting(
        rt.sessions,
        progress=arrives_during_the_read,
        gather=gather,
        sleep=sleep,
        monotonic=lambda: now[0],
    )
    if gather:
        assert counts == {"answers": 3, "cases": 1, "batches": 2}  # a1 and a2 in one pass
        assert len(waits) == 1 and 0 < waits[0] <= gather
    else:  # reads what it finds at once (a2 is never sent: nothing waited for it)
        assert counts == {"answers": 2, "cases": 0, "batches": 2} and waits == []
    assert len(_cases(rt)) == counts["cases"]


def test_a_run_with_nothing_coming_in_never_waits(rt, open_round):
    rids = [_start(rt, open_round) for _ in range(assessing.BATCH + 3)]
    for i, rid in enumerate(rids):
        _send(rt, rid, f"a{i}", text=ORDINARY)

    def sleep(seconds: float) -> None:
        raise AssertionError("waited with nothing coming in")

    counts = assessing.read_waiting(rt.sessions, gather=60.0, sleep=sleep)
    assert counts == {"answers": len(rids), "cases": 0, "batches": 2}


def test_a_job_that_used_its_turn_queues_a_fresh_one_for_the_rest(rt, open_round, monkeypatch):
    """Texts that keep coming in never hold a worker's thread for long: other jobs (alerts)
    get a turn. (A turn of 0 s here: the job reads nothing and hands everything on.)"""
    rid = _start(rt, open_round)
    _send(rt, rid, "a1", text=POSSIBLE)
    [job] = _assess_jobs(rt)
    monkeypatch.setattr(assessing, "TURN", 0.0)
    assert jobs.run_job(job.id, sessions=rt.sessions, settings=rt.settings, worker="t") == "done"
    fresh = [j for j in _assess_jobs(rt) if j.id != job.id]
    assert [j.status for j in fresh] == ["queued"] and _answer(rt, rid).assessed_at is None
    monkeypatch.setattr(assessing, "TURN", 60.0)
    jobs.run_due(rt.sessions, rt.settings)
    assert _answer(rt, rid).assessed_at is not None and len(_cases(rt)) == 1
