"""Rolling rounds in the workbench: open all year with a local consultation, results by month."""

from __future__ import annotations

from datetime import UTC, datetime

from surveys.export.suppression import MIN_GROUP
from tests.test_monthly import answer, rolling_round
from tests.web.test_admin_rounds import all_rounds, new_round


def test_lead_opens_a_rolling_round_of_a_local_consultation(as_role, rt):
    rolling_round(rt)  # the feedback consultation (and a first round of it)
    lead = as_role("lead")
    form = lead.get("/admin/rounds/new").get_data(as_text=True)
    assert 'value="feedback"' in form  # the service's own consultation is offered
    assert 'name="rolling"' in form
    res = new_round(
        lead, title="Feedback 2027", status="open", priorities=["feedback"], rolling="1"
    )
    assert res.status_code == 302, res.get_data(as_text=True)[:500]
    rnd = next(r for r in all_rounds(rt) if r.title == "Feedback 2027")
    assert (rnd.rolling, rnd.closes_on, rnd.priorities) == (True, None, ["feedback"])
    page = lead.get(f"/admin/rounds/{rnd.code}").get_data(as_text=True)
    assert "a rolling round, open all year" in page
    assert "Results by month" in page and "No answers yet." in page


def test_a_rolling_round_with_a_closing_date_is_refused(as_role, rt):
    before = len(all_rounds(rt))
    res = new_round(as_role("lead"), rolling="1", closes_on="2099-01-01")
    assert res.status_code == 400
    assert "A rolling round has no closing date" in res.get_data(as_text=True)
    assert len(all_rounds(rt)) == before


def test_the_round_page_shows_results_by_month_with_small_numbers_hidden(as_role, rt):
    rnd = rolling_round(rt)
    for _ in range(10):
        answer(rt, rnd, datetime(2027, 1, 10, tzinfo=UTC), "Good, they listened to me.")
    for _ in range(2):
        answer(rt, rnd, datetime(2027, 2, 10, tzinfo=UTC), "OK.")
    page = as_role("viewer").get(f"/admin/rounds/{rnd.code}").get_data(as_text=True)
    months = page[page.index('id="by-month"') :]
    assert "January 2027" in months and "February 2027" in months
    assert f"fewer than {MIN_GROUP}" in months
    table = months.split("Sentiment")[0]
    # the total is the who-took-part table's (12): January is hidden too, so February
    # cannot be worked out from it
    assert '<td class="num">12</td>' in page[: page.index('id="by-month"')]
    january = table[table.index("January 2027") :]
    assert january.startswith('January 2027</th><td class="num">not shown</td>')
    assert '<td class="num">12</td><td class="num">24</td>' in table  # all months
    assert "What is hidden, and why" in months


def test_an_ordinary_round_has_no_monthly_results(as_role, open_round):
    page = as_role("lead").get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert "Results by month" not in page


def test_the_dashboard_of_a_rolling_round_shows_the_months_too(as_role, rt):
    rnd = rolling_round(rt)
    for _ in range(2):
        answer(rt, rnd, datetime(2027, 5, 2, tzinfo=UTC), "Fine.")
    page = as_role("reviewer").get(f"/admin/rounds/{rnd.code}/dashboard").get_data(as_text=True)
    months = page[page.index('id="by-month"') :]
    assert "May 2027" in months and f"fewer than {MIN_GROUP}" in months
