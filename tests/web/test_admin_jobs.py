"""Background jobs in the workbench: themes for every question of a round in one action, with
progress; the lead's Jobs page (queued / running / failed) and its retry button."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveys import jobs
from surveys.jobs import broker, runner, table
from surveys.storage import store
from surveys.storage.models import AuditEvent, Job, Theme, utcnow
from tests.conftest import make_settings
from tests.jobs import kinds  # noqa: F401 - registers the test kinds
from tests.test_theming import QID, keyword_finder
from tests.test_theming import themed as themed
from tests.web.conftest import hidden_fields, sign_in
from web import create_app

# The job views and the jobs they queue run their SQL here only: PostgreSQL too.
pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture(autouse=True)
def predictable_engine(monkeypatch):
    """Group by topic word: the job and the pages are under test, not the clustering."""
    from surveys.analysis import clustering as engine

    monkeypatch.setattr(engine, "find_themes", keyword_finder)


def token(client) -> str:
    return hidden_fields(client.get("/admin/").get_data(as_text=True))["csrf_token"]


def theme_questions(rt, code) -> set[str]:
    with rt.sessions() as s:
        rnd = store.get_round(s, code)
        return set(s.scalars(select(Theme.question_id).where(Theme.round_id == rnd.id)))


def round_job(rt, code) -> Job:
    with rt.sessions() as s:
        rnd = store.get_round(s, code)
        job = jobs.latest_job(s, f"themes.round:{rnd.id}")
        s.expunge(job)
        return job


def test_one_action_queues_themes_for_every_question_and_shows_progress(as_role, themed, rt):
    code, _, _ = themed
    client = as_role("reviewer")
    overview = client.get(f"/admin/rounds/{code}/themes").get_data(as_text=True)
    assert "Find themes for every question" in overview
    res = client.post(f"/admin/rounds/{code}/themes/all", data={"csrf_token": token(client)})
    assert res.status_code == 303
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Finding themes for every question." in page  # the flash
    assert "Waiting for a worker" in page and "data-job-url" in page and "jobs.js" in page
    job = round_job(rt, code)
    assert job.status == "queued" and theme_questions(rt, code) == set()

    # Asking again while it waits queues nothing new.
    again = client.post(f"/admin/rounds/{code}/themes/all", data={"csrf_token": token(client)})
    assert "already being found" in client.get(again.headers["Location"]).get_data(as_text=True)
    with rt.sessions() as s:
        assert len(list(s.scalars(select(Job).where(Job.kind == "themes.round")))) == 1

    status = client.get(f"/admin/jobs/{job.id}.json")
    assert status.status_code == 200 and status.json["status"] == "queued"

    # A worker runs it (here, in this process): every question with written answers.
    assert runner.run_due(rt.sessions, rt.settings) == {"done": 1}
    assert theme_questions(rt, code) == {QID, "policing.opinion"}
    done = client.get(f"/admin/jobs/{job.id}.json").json
    assert done["status"] == "done" and done["progress_done"] == done["progress_total"] == 2
    page = client.get(f"/admin/rounds/{code}/themes").get_data(as_text=True)
    assert "Themes were last found for every question" in page and "data-job-url" not in page


def test_in_immediate_mode_the_themes_are_there_when_the_page_comes_back(rt, themed, staff):
    """The queue's immediate mode (unit tests only): the request runs the job on commit."""
    code, _, _ = themed
    app = create_app(
        {"YJV_SETTINGS": make_settings(rt.settings.instance_path, rt.settings.database_url),
         "TESTING": True, "JOBS_IMMEDIATE": True}
    )  # fmt: skip
    client = app.test_client()
    assert sign_in(client, staff["lead"]).status_code == 302
    res = client.post(f"/admin/rounds/{code}/themes/all", data={"csrf_token": token(client)})
    assert res.status_code == 303
    assert round_job(rt, code).status == "done"
    assert theme_questions(rt, code) == {QID, "policing.opinion"}
    broker.reset()
    app.extensions["yjvoice"].database.dispose()


def test_a_reviewer_sees_only_theme_jobs_and_never_the_jobs_page(as_role, rt):
    with rt.transaction() as s:
        job_id = jobs.enqueue(s, "test.echo", {"value": 1}).id
    client = as_role("reviewer")
    assert client.get("/admin/jobs").status_code == 403
    assert client.get(f"/admin/jobs/{job_id}.json").status_code == 404
    assert as_role("viewer").get(f"/admin/jobs/{job_id}.json").status_code == 403
    assert as_role("lead").get(f"/admin/jobs/{job_id}.json").json["kind"] == "test.echo"
    assert as_role("lead").get("/admin/jobs/999999.json").status_code == 404


def test_the_lead_sees_failed_jobs_and_tries_one_again(as_role, rt):
    t0 = utcnow()
    with rt.transaction() as s:
        failed = jobs.enqueue(s, "test.echo", {"value": 3, "fail_times": 3}, now=t0).id
        waiting = jobs.enqueue(s, "test.echo", {"value": 4}, now=t0).id
    for n in range(3):
        runner.run_job(failed, sessions=rt.sessions, settings=rt.settings, worker="w",
                       clock=lambda n=n: t0 + timedelta(minutes=5 * n))  # fmt: skip
    client = as_role("lead")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "1 job failed" in page and "RuntimeError: boom on attempt 3" in page
    assert f"#{failed}" in page and f"#{waiting}" in page
    failed_only = client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert f"#{failed}" in failed_only and f"#{waiting}" not in failed_only
    assert "Try again" in failed_only

    res = client.post(f"/admin/jobs/{failed}/retry", data={"csrf_token": token(client)})
    assert res.status_code == 303
    assert "is queued again" in client.get(res.headers["Location"]).get_data(as_text=True)
    with rt.sessions() as s:
        job = s.get(Job, failed)
        assert (job.status, job.attempts) == ("queued", 0)
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "job.retried"))
        assert event.target == f"job:{failed}" and event.actor_label == "lead@yjs.example.org"
    again = client.post(f"/admin/jobs/{failed}/retry", data={"csrf_token": token(client)})
    assert "Only a failed job" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert (
        client.post("/admin/jobs/999999/retry", data={"csrf_token": token(client)}).status_code
        == 404
    )
    assert client.post(f"/admin/jobs/{failed}/retry", data={}).status_code == 400  # no token


def test_job_pages_hold_no_answer_text(as_role, themed, rt):
    code, _, _ = themed
    client = as_role("lead")
    client.post(f"/admin/rounds/{code}/themes/all", data={"csrf_token": token(client)})
    runner.run_due(rt.sessions, rt.settings)
    page = client.get("/admin/jobs?status=done").get_data(as_text=True)
    assert "Find themes for every question of a round" in page and "Themes (" in page
    with rt.sessions() as s:
        stored = json.dumps([(j.params, j.result) for j in s.scalars(select(Job))])
    for words in ("youth club", "police", "school", "THEMEFLAG"):
        assert words not in page and words not in stored
    with rt.sessions() as s:
        assert table.counts(s)["done"] == 1


def test_periodic_checks_that_did_their_work_do_not_crowd_the_page(as_role, rt):
    from surveys.jobs import registry

    spec = registry.get_kind("alerts.escalate")
    t0 = utcnow()
    for n in range(3):
        table.sweep(rt.sessions, t0 + n * spec.every, kinds=[spec])
        runner.run_due(rt.sessions, rt.settings, clock=lambda n=n: t0 + n * spec.every)
    client = as_role("lead")
    assert "Escalate unacknowledged" not in client.get("/admin/jobs").get_data(as_text=True)
    done = client.get("/admin/jobs?status=done").get_data(as_text=True)
    assert done.count("Escalate unacknowledged safeguarding cases") == 3
