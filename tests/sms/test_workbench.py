"""The lead invites numbers by text from the workbench: pasted, sent, never shown back."""

from __future__ import annotations

from sqlalchemy import select

from surveys.services.accounts import upsert_user
from surveys.storage.models import AuditEvent
from tests.sms.conftest import CHILD, OTHER, notify_settings
from tests.web.conftest import STAFF_PASSWORD, hidden_fields, sign_in


def signed_in(app, rt, role):
    with rt.transaction() as s:
        upsert_user(s, f"{role}@yjs.example.org", STAFF_PASSWORD, role=role)
    client = app.test_client()
    assert sign_in(client, f"{role}@yjs.example.org").status_code == 302
    return client


def test_the_lead_pastes_numbers_and_they_are_invited(rt, open_round, make_app, notify):
    app = make_app(notify_settings(notify))
    lead = signed_in(app, rt, "lead")
    assert "Invite by text message" in lead.get(f"/admin/rounds/{open_round}").get_data(True)
    page = lead.get(f"/admin/rounds/{open_round}/texts")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Reply YES to start, STOP to stop." in html
    assert "1 part" in html
    res = lead.post(
        f"/admin/rounds/{open_round}/texts",
        data={
            "csrf_token": hidden_fields(html)["csrf_token"],
            "audience": "child",
            "numbers": f"07700 900123\n{OTHER}, not-a-number\n+447700900123",
        },
        follow_redirects=True,
    )
    shown = res.get_data(as_text=True)
    assert "Invitations sent: 2." in shown and "Not phone numbers" in shown
    assert "900123" not in shown and "900456" not in shown
    assert len(notify.sent_to(CHILD)) == 1 and len(notify.sent_to(OTHER)) == 1
    with rt.transaction() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "sms_invite")).one()


def test_only_the_lead_may_send_invitations(rt, open_round, make_app, notify):
    app = make_app(notify_settings(notify))
    for role in ("reviewer", "viewer", "safeguarding"):
        client = signed_in(app, rt, role)
        assert client.get(f"/admin/rounds/{open_round}/texts").status_code == 403
        assert client.post(f"/admin/rounds/{open_round}/texts", data={}).status_code in (
            400,
            403,
        )
    assert notify.sent == []
