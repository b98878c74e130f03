"""The dashboard and its charts through Flask's test client."""

from __future__ import annotations

import pytest

from tests.test_review import build_review_round

CHARTS = ("priorities", "people", "completion", "time", "sentiment")


@pytest.fixture
def seed(rt):
    return build_review_round(rt, extra_written=12)


@pytest.mark.parametrize("role", ["lead", "reviewer", "viewer"])
def test_dashboard_shows_tables_charts_and_what_was_hidden(as_role, seed, role):
    page = as_role(role).get(f"/admin/rounds/{seed.code}/dashboard")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for name in CHARTS:
        assert f"/admin/rounds/{seed.code}/dashboard/{name}.svg" in body
    assert "People who started, by group and channel" in body
    assert "fewer than 10" in body and "What is hidden, and why" in body
    assert "About the service" in body
    # Only those who review are told how many answers are with the safeguarding lead.
    assert ("with the safeguarding lead" in body) == (role != "viewer")
    assert "FLAGMARK" not in body and "CASEMARK" not in body


@pytest.mark.parametrize("name", CHARTS)
def test_charts_are_svg_images_with_their_own_narrow_policy(as_role, seed, name):
    client = as_role("viewer")
    res = client.get(f"/admin/rounds/{seed.code}/dashboard/{name}.svg")
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"
    assert res.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "script" not in res.headers["Content-Security-Policy"]
    assert res.headers["Cache-Control"] == "no-store"
    again = client.get(f"/admin/rounds/{seed.code}/dashboard/{name}.svg")
    assert again.data == res.data


def test_unknown_chart_or_round_is_404(as_role, seed):
    client = as_role("lead")
    assert client.get(f"/admin/rounds/{seed.code}/dashboard/secret.svg").status_code == 404
    assert client.get("/admin/rounds/NOPE/dashboard").status_code == 404
    assert client.get("/admin/rounds/NOPE/dashboard/people.svg").status_code == 404


def test_safeguarding_role_cannot_open_dashboards(as_role, seed):
    client = as_role("safeguarding")
    assert client.get(f"/admin/rounds/{seed.code}/dashboard").status_code == 403
    assert client.get(f"/admin/rounds/{seed.code}/dashboard/time.svg").status_code == 403


def test_pick_a_round_lists_rounds_or_opens_the_only_one(as_role, seed, rt):
    client = as_role("viewer")
    page = client.get("/admin/dashboard")
    assert page.status_code == 200 and seed.code in page.get_data(as_text=True)


def test_the_only_round_opens_straight_away(as_role, rt):
    from surveys.storage import store

    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Only", priorities=["policing"], audiences=["child"]
        ).code
    res = as_role("lead").get("/admin/review")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/rounds/{code}/review")
    page = as_role("lead").get(f"/admin/rounds/{code}/dashboard").get_data(as_text=True)
    assert "No answers yet." in page
