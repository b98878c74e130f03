"""The audit log page: lead only, filters, CSV; sign-ins, views of raw text and quote edits
are recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from surveys.storage.models import Answer, AuditEvent
from tests.test_crypto import store_text
from tests.web.conftest import hidden_fields, sign_in


def events(rt, action=None) -> list[AuditEvent]:
    with rt.transaction() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return list(s.scalars(stmt))


@pytest.mark.parametrize("role", ["reviewer", "safeguarding", "viewer"])
def test_only_the_lead_sees_the_audit_log(as_role, role):
    client = as_role(role)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/admin/audit").status_code == 302


def test_sign_in_success_failure_and_sign_out_are_recorded(app, rt, staff):
    c = app.test_client()
    assert sign_in(c, staff["reviewer"], "wrong password entirely").status_code == 401
    assert sign_in(c, "nobody@nowhere.example", "wrong password entirely").status_code == 401
    assert sign_in(c, staff["reviewer"]).status_code == 302
    token = hidden_fields(c.get("/admin/account/password").get_data(as_text=True))["csrf_token"]
    assert c.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    got = [(e.action, e.target) for e in events(rt)]
    failed = [e for e in events(rt, "sign_in_failed")]
    assert failed[0].target and failed[0].target.startswith("user:")
    assert failed[1].target is None and failed[1].details["email_hash"].startswith("sha256:")
    assert "nobody" not in str(failed[1].details)
    assert [a for a, _ in got] == ["sign_in_failed", "sign_in_failed", "sign_in", "sign_out"]
    for e in events(rt):
        assert "wrong password" not in str(e.details)


def test_page_lists_filters_and_pages(as_role, rt, open_round):
    lead = as_role("lead")
    page = lead.get("/admin/audit").get_data(as_text=True)
    assert "Audit log" in page and "sign_in" in page and "lead@yjs.example.org" in page
    filtered = lead.get("/admin/audit?action=sign_out").get_data(as_text=True)
    assert "No events match." in filtered
    from surveys.services import audit

    with rt.transaction() as s:
        for i in range(60):
            audit.record(s, "export", details={"n": i})
    first = lead.get("/admin/audit?action=export").get_data(as_text=True)
    assert "60 events" in first and 'rel="next"' in first
    assert "n=59" in first and "n=9" not in first.replace("n=59", "")


def test_csv_download_is_recorded_and_neutralises_formulas(as_role, rt):
    from surveys.services import audit

    with rt.transaction() as s:
        audit.record(s, "import", actor="=cmd|' /C calc'!A0", details={"answers": 3})
    lead = as_role("lead")
    res = lead.get("/admin/audit.csv")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0][:5] == ["id", "at", "actor_id", "actor", "action"]
    assert any(r[3].startswith("'=") for r in rows[1:])
    assert events(rt, "export")[-1].details == {"format": "csv", "scope": "audit_log"}


def test_raw_text_views_and_quote_edits_are_recorded(as_role, rt, open_round, jobs_immediate):
    store_text(rt, open_round, "the police were fair with me today", "q")
    with rt.transaction() as s:
        aid = s.scalars(select(Answer.id)).one()
    reviewer = as_role("reviewer")
    url = f"/admin/rounds/{open_round}/review/{aid}"
    page = reviewer.get(url)
    assert page.status_code == 200
    viewed = events(rt, "raw_text_viewed")
    assert len(viewed) == 1 and viewed[0].target == f"answer:{aid}"
    assert viewed[0].actor_label == "reviewer@yjs.example.org"
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    res = reviewer.post(
        f"{url}/quote", data={"csrf_token": token, "quote": "the police were fair with me"}
    )
    assert res.status_code in (302, 303), res.get_data(as_text=True)[:300]
    [edit] = events(rt, "quote_edited")
    assert edit.target == f"answer:{aid}" and edit.details == {"edited": True}
    assert "police" not in str(edit.details)


def test_role_change_is_recorded(as_role, rt, staff):
    from surveys.storage.models import User

    with rt.transaction() as s:
        uid = s.scalars(select(User.id).where(User.email == staff["viewer"])).one()
    lead = as_role("lead")
    page = lead.get(f"/admin/users/{uid}").get_data(as_text=True)
    res = lead.post(
        f"/admin/users/{uid}",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "action": "role",
            "role": "reviewer",
        },
    )
    assert res.status_code == 302
    [e] = events(rt, "user_role")
    assert e.target == f"user:{uid}" and e.details["role"] == "reviewer"
    assert e.actor_label == "lead@yjs.example.org"


def test_nav_shows_audit_log_to_the_lead_only(as_role):
    assert "/admin/audit" in as_role("lead").get("/admin/").get_data(as_text=True)
    assert "/admin/audit" not in as_role("viewer").get("/admin/").get_data(as_text=True)
