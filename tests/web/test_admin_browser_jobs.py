"""Background jobs in real headless Chromium: themes for every question with live progress
(with the site's real CSP), and the lead's Jobs page with its retry button; axe-core finds no
serious or critical problem on either."""

from __future__ import annotations

from datetime import timedelta

import pytest

from surveys import jobs
from surveys.jobs import runner
from surveys.storage.models import Job, utcnow
from tests.jobs import kinds  # noqa: F401 - registers the test kinds
from tests.test_theming import keyword_finder
from tests.test_theming import themed as themed
from tests.web.test_admin_browser_review import click, desk, sign_in, strict  # noqa: F401
from tests.web.test_browser import axe_problems, base_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def predictable_engine(monkeypatch):
    from surveys.analysis import clustering as engine

    monkeypatch.setattr(engine, "find_themes", keyword_finder)


def test_themes_for_every_question_show_progress_then_the_result(
    rt, staff, themed, base_url, strict, desk  # noqa: F811
):  # fmt: skip
    code, _, _ = themed
    page = strict
    sign_in(page, base_url, staff["reviewer"])
    page.goto(f"{base_url}/admin/rounds/{code}/themes")
    click(page, page.get_by_role("button", name="Find themes for every question"))
    assert page.get_by_role("status").filter(has_text="Waiting for a worker").is_visible()
    assert page.locator("progress").is_visible()

    runner.run_due(rt.sessions, rt.settings)  # a worker takes it; the page notices by itself
    page.get_by_text("Themes were last found for every question").wait_for(timeout=60_000)
    assert page.errors == []  # the progress script runs under the real CSP

    sign_in(desk, base_url, staff["reviewer"])
    with rt.transaction() as s:  # a second run waiting for a worker: the progress box
        from surveys.services import themes
        from surveys.storage import store

        themes.queue_round(s, store.get_round(s, code))
    desk.goto(f"{base_url}/admin/rounds/{code}/themes")
    assert desk.locator("progress").is_visible()
    assert axe_problems(desk) == []


def test_the_lead_tries_a_failed_job_again(rt, staff, base_url, desk):  # noqa: F811
    t0 = utcnow()
    with rt.transaction() as s:
        job_id = jobs.enqueue(s, "test.echo", {"value": 1, "fail_times": 3}, now=t0).id
    for n in range(3):
        runner.run_job(job_id, sessions=rt.sessions, settings=rt.settings, worker="w",
                       clock=lambda n=n: t0 + timedelta(minutes=5 * n))  # fmt: skip
    page = desk
    sign_in(page, base_url, staff["lead"])
    click(page, page.get_by_role("link", name="Jobs"))
    assert page.get_by_text("1 job failed").is_visible()
    assert axe_problems(page) == []
    click(page, page.get_by_role("button", name=f"Try again job {job_id}"))
    assert page.get_by_text(f"Job #{job_id} is queued again.").is_visible()
    with rt.sessions() as s:
        assert s.get(Job, job_id).status == "queued"
    assert axe_problems(page) == []
