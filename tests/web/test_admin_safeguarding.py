"""The safeguarding queue in the workbench: only the lead and the safeguarding lead see it or
the raw words of a flagged answer; actions need CSRF; overdue cases are bannered on every
admin page. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveys.services import importer, safeguarding
from surveys.storage import store
from surveys.storage.models import AlertMessage, SafeguardingCase, utcnow
from tests.conftest import TEST_SECRET
from tests.test_importer import csv_bytes
from tests.web.conftest import hidden_fields
from tests.web.test_admin_access import admin_rules, method_of, url_for_rule

RAW = "my stepdad beats me up if i come home late"
CONTACT = "ring my aunt's phone"
BANNER = "not been acknowledged in time"


def page_text(res) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", res.get_data(as_text=True))).split())


@pytest.fixture
def case_id(rt, open_round) -> int:
    """Import one flagged answer (the real pipeline) and return its case id."""
    rows = [
        ["child", "policing", "policing.opinion", RAW, "K9"],
        ["child", "policing", "policing.talk", "talk to us like people", "K9"],
    ]
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        preview = importer.preview_for_round(csv_bytes(rows), rnd, rt.catalogue)
        [cid] = importer.commit(s, rnd, preview, secret=TEST_SECRET).cases
        s.get(SafeguardingCase, cid).contact = CONTACT
        return cid


def make_overdue(rt, cid, hours=2):
    with rt.transaction() as s:
        s.get(SafeguardingCase, cid).created_at = utcnow() - timedelta(hours=hours)


def act(client, cid, action, note="", *, csrf=True):
    url = f"/admin/safeguarding/{cid}"
    form = {"action": action, "note": note}
    if csrf:
        form["csrf_token"] = hidden_fields(client.get(url).get_data(as_text=True))["csrf_token"]
    return client.post(url, data=form)


@pytest.mark.parametrize("role", ["lead", "safeguarding"])
def test_queue_shows_raw_text_category_time_channel_and_contact(as_role, case_id, role):
    client = as_role(role)
    text = page_text(client.get("/admin/safeguarding"))
    assert RAW in text and "physical abuse" in text and CONTACT in text
    assert "import, child" in text and "UTC" not in text  # UK time, as the clock shows
    detail = client.get(f"/admin/safeguarding/{case_id}")
    assert detail.status_code == 200
    body = page_text(detail)
    assert RAW in body and CONTACT in body and "policing.opinion" in body


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_other_roles_cannot_open_the_queue(as_role, case_id, role):
    client = as_role(role)
    assert client.get("/admin/safeguarding").status_code == 403
    assert client.get(f"/admin/safeguarding/{case_id}").status_code == 403


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_flagged_raw_text_is_on_no_page_other_roles_can_open(
    app, as_role, case_id, open_round, role
):
    client = as_role(role)
    for rule in admin_rules(app):
        if method_of(rule) != "GET" or "<" in rule.rule.replace("<code>", ""):
            continue
        res = client.get(url_for_rule(rule, open_round), follow_redirects=True)
        assert RAW not in res.get_data(as_text=True), rule.rule


def test_safeguarding_lead_starts_at_the_queue(app, staff):
    from tests.web.conftest import sign_in

    client = app.test_client()
    res = sign_in(client, staff["safeguarding"])
    assert res.headers["Location"].endswith("/admin/safeguarding")
    assert client.get("/admin/safeguarding").status_code == 200


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_acknowledge_record_close(rt, as_role, case_id, staff):
    client = as_role("safeguarding")
    res = act(client, case_id, "acknowledge")
    assert res.status_code == 303
    assert "Case acknowledged" in page_text(client.get(res.headers["Location"]))
    act(client, case_id, "record", "Called the case manager; home visit today.")
    res = act(client, case_id, "close", "Visit done; referral to MASH.")
    assert res.status_code == 303
    with rt.transaction() as s:
        view = safeguarding.get_case(s, case_id)
    assert view.status == "closed" and view.closed_by == staff["safeguarding"]
    assert "home visit today" in view.action_note and "referral to MASH" in view.action_note
    page = page_text(client.get(f"/admin/safeguarding/{case_id}"))
    assert "Closed" in page and "Record action" not in page
    assert "No open cases" in page_text(client.get("/admin/safeguarding"))
    assert RAW in page_text(client.get("/admin/safeguarding?show=closed"))


def test_closing_without_a_note_asks_for_one(rt, as_role, case_id):
    res = act(as_role("lead"), case_id, "close")
    assert res.status_code == 422 and "record what was done" in page_text(res)
    with rt.transaction() as s:
        assert safeguarding.get_case(s, case_id).status == "new"


def test_an_empty_action_note_is_refused(rt, as_role, case_id):
    res = act(as_role("lead"), case_id, "record", "   ")
    assert res.status_code == 422 and "Please write what was done" in page_text(res)


@pytest.mark.parametrize("action", ["acknowledge", "record", "close"])
def test_actions_without_csrf_token_are_refused(rt, as_role, case_id, action):
    res = act(as_role("safeguarding"), case_id, action, "note", csrf=False)
    assert res.status_code == 400
    with rt.transaction() as s:
        view = safeguarding.get_case(s, case_id)
    assert view.status == "new" and view.action_note is None


def test_unknown_action_is_refused(as_role, case_id):
    assert act(as_role("lead"), case_id, "delete").status_code == 400


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_other_roles_cannot_act_on_a_case(rt, app, as_role, case_id, role):
    client = as_role(role)
    token = hidden_fields(client.get("/admin/").get_data(as_text=True))["csrf_token"]
    res = client.post(
        f"/admin/safeguarding/{case_id}", data={"csrf_token": token, "action": "close", "note": "x"}
    )
    assert res.status_code == 403
    with rt.transaction() as s:
        assert safeguarding.get_case(s, case_id).status == "new"


def test_unknown_case_is_404(as_role):
    assert as_role("lead").get("/admin/safeguarding/999999").status_code == 404


def test_overdue_case_is_bannered_on_every_admin_page_for_lead_and_safeguarding(
    rt, as_role, case_id
):
    lead, dsl, reviewer = as_role("lead"), as_role("safeguarding"), as_role("reviewer")
    assert BANNER not in page_text(lead.get("/admin/"))  # not overdue yet
    make_overdue(rt, case_id)
    assert BANNER in page_text(lead.get("/admin/"))
    assert BANNER in page_text(lead.get("/admin/proposals"))
    assert BANNER in page_text(dsl.get("/admin/safeguarding"))
    assert BANNER not in page_text(reviewer.get("/admin/"))
    act(dsl, case_id, "acknowledge")
    assert BANNER not in page_text(lead.get("/admin/"))


def test_overdue_time_is_configurable(rt, app, as_role, case_id):
    make_overdue(rt, case_id, hours=0.5)
    lead = as_role("lead")
    assert BANNER not in page_text(lead.get("/admin/"))
    app.config["SAFEGUARDING_OVERDUE_MINUTES"] = 15
    assert BANNER in page_text(lead.get("/admin/"))


def test_queue_pages_have_no_inline_script_or_style(as_role, case_id):
    client = as_role("lead")
    for url in ("/admin/safeguarding", f"/admin/safeguarding/{case_id}"):
        body = client.get(url).get_data(as_text=True)
        assert "<script" not in body and "style=" not in body


def test_raw_text_never_reaches_the_logs(as_role, case_id, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = as_role("safeguarding")
    client.get(f"/admin/safeguarding/{case_id}")
    act(client, case_id, "record", "Spoke to Jayden's mum")
    assert RAW not in caplog.text and "Jayden" not in caplog.text
    assert f"case={case_id}" in caplog.text


def test_queue_shows_tier_and_highlights_what_triggered_it(rt, as_role, case_id):
    page = as_role("safeguarding").get("/admin/safeguarding").get_data(as_text=True)
    assert "Flag" in page
    assert '<mark class="trigger">my stepdad beats me</mark> up if' in page


def test_a_possible_concern_shows_its_tier_score_and_sentence(
    rt, open_round, as_role, jobs_immediate
):
    text = "skool is ok i guess. the man at the shop gives me free stuff and says its our secret"
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        rows = [["child", "education", "education.experience", text, "P1"]]
        preview = importer.preview_for_round(csv_bytes(rows), rnd, rt.catalogue)
        assert importer.commit(s, rnd, preview, secret=TEST_SECRET).cases == ()  # no hard flag
    with rt.sessions() as s:  # the second reading ran as the import committed
        [cid] = s.scalars(select(SafeguardingCase.id)).all()
    res = as_role("safeguarding").get(f"/admin/safeguarding/{cid}")
    page = res.get_data(as_text=True)
    assert "Possible concern" in page and re.search(r"score [01]\.\d\d<", page)
    assert "the sentence the model scored highest" in page
    assert '<mark class="trigger">' in page and "says its our secret</mark>" in page


UNDELIVERED = "safeguarding alert has not been delivered"


def test_an_alert_that_did_not_get_through_is_bannered_for_lead_and_safeguarding(
    rt, as_role, case_id
):
    lead, dsl, reviewer = as_role("lead"), as_role("safeguarding"), as_role("reviewer")
    with rt.transaction() as s:
        messages = s.scalars(select(AlertMessage).where(AlertMessage.case_id == case_id)).all()
        assert messages  # the case queued its alerts
    assert UNDELIVERED not in page_text(lead.get("/admin/"))  # just queued: not stuck yet
    with rt.transaction() as s:
        first = s.scalars(select(AlertMessage).where(AlertMessage.case_id == case_id)).first()
        first.attempts, first.last_error = 1, "SMTP: connection refused"
    assert UNDELIVERED in page_text(lead.get("/admin/"))
    assert UNDELIVERED in page_text(dsl.get("/admin/safeguarding"))
    assert "not been delivered" not in page_text(reviewer.get("/admin/"))
    with rt.transaction() as s:
        for m in s.scalars(select(AlertMessage)):
            m.status, m.sent_at = "sent", utcnow()
    assert "not been delivered" not in page_text(lead.get("/admin/"))


def test_a_possible_concern_can_be_cleared_and_a_hard_flag_cannot(rt, as_role, case_id):
    client = as_role("safeguarding")
    page = page_text(client.get(f"/admin/safeguarding/{case_id}"))
    assert "No concern: clear this case" not in page  # the lexicon's hard flag
    res = act(client, case_id, "clear", "Looks fine.")
    assert res.status_code == 422 and "A hard flag stays" in page_text(res)
    with rt.transaction() as s:
        s.get(SafeguardingCase, case_id).tier = "possible"
    assert "No concern: clear this case" in page_text(client.get(f"/admin/safeguarding/{case_id}"))
    res = act(client, case_id, "clear", "Read with the worker: about a film.")
    assert res.status_code == 303
    with rt.transaction() as s:
        view = safeguarding.get_case(s, case_id)
    assert view.status == "cleared"
    assert "Cleared: no concern" in page_text(client.get("/admin/safeguarding?show=closed"))
