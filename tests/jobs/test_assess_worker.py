"""The second reading in a real `yjvoice worker`: an answer stored while no worker runs is
acknowledged with its job queued; the possible concern's case appears once a worker starts,
on SQLite, on PostgreSQL with Redis as the queue, and on PostgreSQL alone. No speed is
measured: each wait polls for an outcome with a generous limit."""

from __future__ import annotations

from sqlalchemy import select

from surveys.core import engine
from surveys.services import assessing, conversation
from surveys.services.accounts import upsert_user
from surveys.storage import store
from surveys.storage.models import AlertMessage, Answer, Job, SafeguardingCase
from tests.jobs.test_worker_kill import Workers, runtime_for, stack  # noqa: F401 - fixtures
from tests.test_assessing import POSSIBLE


def _stored(rt, code: str) -> str:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="child")
    for key, inbound in (("consent", engine.Inbound(choice="yes")),
                         ("a1", engine.Inbound(text=POSSIBLE))):  # fmt: skip
        with rt.transaction() as s:
            turn = conversation.apply(s, rt.context, resp.id, inbound, key=key)
    assert turn.stored == 1 and not turn.flagged  # acknowledged: the next question is sent
    return resp.id


def test_a_possible_concern_waits_for_a_worker_then_opens_its_case(stack, runtime_for, tmp_path):  # noqa: F811
    db_url, queue_url = stack
    rt = runtime_for(db_url, queue_url)
    with rt.transaction() as s:
        code = store.open_round(s, rt.catalogue, title="Test round", priorities=["education"],
                                audiences=["child"]).code  # fmt: skip
        upsert_user(s, "dsl@yjs.example.org", "correct horse battery staple", "safeguarding")
    rid = _stored(rt, code)

    def answer() -> tuple[Answer, SafeguardingCase | None, Job]:
        with rt.sessions() as s:
            a = s.scalar(select(Answer).where(Answer.respondent_id == rid))
            case = s.scalar(select(SafeguardingCase).where(SafeguardingCase.answer_id == a.id))
            job = s.scalar(select(Job).where(Job.kind == assessing.KIND))
            s.expunge_all()
            return a, case, job

    a, case, job = answer()
    assert a.assessed_at is None and not a.flagged and case is None
    assert job.status == "queued"  # no worker yet: committed with the answer, waiting

    workers = Workers(tmp_path, db_url, queue_url)
    try:
        workers.start()
        workers.wait_for("the worker to open the case", lambda: answer()[1] is not None)
        workers.wait_for("the job to be done", lambda: answer()[2].status == "done")
    finally:
        codes = workers.stop_all()
    a, case, job = answer()
    assert a.assessed_at is not None and a.flag_tier == "possible"
    assert case.tier == "possible" and case.score == a.flag_score and case.categories
    assert job.result == {"answers": 1, "cases": 1, "batches": 1}
    with rt.sessions() as s:  # the worker's case queued its alert, as any case does
        alerts = s.scalars(select(AlertMessage).where(AlertMessage.case_id == case.id)).all()
        assert [m.recipient for m in alerts] == ["dsl@yjs.example.org"]
    assert codes == [0], workers.tail()
