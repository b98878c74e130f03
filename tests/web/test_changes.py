"""'You said, we did': the lead writes what changed, and everyone who took part can see it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveys.storage import store
from surveys.storage.models import AuditEvent, Change, Proposal
from tests.web.conftest import hidden_fields

# The changes service is reached only through these pages: PostgreSQL too (tests/conftest.py).
pytestmark = pytest.mark.backends("sqlite", "postgres")

SAID = "You told us the police talk down to you."
DID = "Officers now meet young people at the youth club every month."


def _token(client, code):
    return hidden_fields(client.get(f"/admin/rounds/{code}/changes").get_data(as_text=True))[
        "csrf_token"
    ]


def _add(client, code, **form):
    data = {"csrf_token": _token(client, code), "you_said": SAID, "we_did": DID, **form}
    return client.post(f"/admin/rounds/{code}/changes/add", data=data)


def _publish(client, code, action="publish"):
    data = {"csrf_token": _token(client, code), "action": action}
    return client.post(f"/admin/rounds/{code}/changes/publish", data=data)


def test_the_page_is_private_until_the_lead_puts_it_up(as_role, client, open_round, rt):
    assert client.get(f"/r/{open_round}/changed").status_code == 404
    lead = as_role("lead")
    assert _add(lead, open_round, priority="policing").status_code == 303
    assert client.get(f"/r/{open_round}/changed").status_code == 404  # written, not up
    assert _publish(lead, open_round).status_code == 303
    page = client.get(f"/r/{open_round}/changed")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and SAID in body and DID in body
    _publish(lead, open_round, "withdraw")
    assert client.get(f"/r/{open_round}/changed").status_code == 404
    with rt.transaction() as s:
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.round_id.is_not(None)))
        assert {"change_added", "changes_published", "changes_withdrawn"} <= set(events)
        details = " ".join(str(e.details) for e in s.scalars(select(AuditEvent)))
        assert SAID not in details and DID not in details  # the audit log keeps no words


def test_the_page_lists_the_plans_accepted_actions(as_role, client, open_round, rt):
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        s.add(
            Proposal(
                round_id=rnd.id,
                priority="policing",
                agency="Police",
                achieve="Trust",
                do="Attend the youth club monthly",
                evidence="Visits logged",
                status="accepted",
            )
        )
    lead = as_role("lead")
    _add(lead, open_round)
    _publish(lead, open_round)
    assert "Attend the youth club monthly" in client.get(f"/r/{open_round}/changed").get_data(
        as_text=True
    )


def test_lines_are_edited_moved_and_deleted(as_role, open_round, rt):
    lead = as_role("lead")
    _add(lead, open_round)
    _add(lead, open_round, you_said="Second thing.", we_did="Second change.")
    with rt.transaction() as s:
        first, second = s.scalars(select(Change).order_by(Change.position)).all()
        ids = first.id, second.id
    url = f"/admin/rounds/{open_round}/changes"
    lead.post(f"{url}/{ids[1]}", data={"csrf_token": _token(lead, open_round), "action": "up"})
    with rt.transaction() as s:
        assert [c.id for c in s.scalars(select(Change).order_by(Change.position))] == [
            ids[1],
            ids[0],
        ]
    res = lead.post(
        f"{url}/{ids[0]}",
        data={
            "csrf_token": _token(lead, open_round),
            "action": "save",
            "you_said": "Edited.",
            "we_did": "Done.",
        },
    )
    assert res.status_code == 303
    lead.post(f"{url}/{ids[1]}", data={"csrf_token": _token(lead, open_round), "action": "delete"})
    with rt.transaction() as s:
        assert [(c.you_said, c.we_did) for c in s.scalars(select(Change))] == [("Edited.", "Done.")]


def test_bad_lines_get_a_clear_message_and_nothing_is_saved(as_role, open_round, rt):
    lead = as_role("lead")
    cases = [
        ({"you_said": "  "}, "fill in both"),
        ({"we_did": "x" * 601}, "under 600 characters"),
        ({"priority": "not_a_priority"}, "not part of this round"),
        ({"you_said_cy": "Dywedoch chi"}, "both parts in Welsh"),
    ]
    for form, message in cases:
        res = _add(lead, open_round, **form)
        assert res.status_code == 400 and message in res.get_data(as_text=True)
    assert _publish(lead, open_round).status_code == 400  # nothing to publish yet
    with rt.transaction() as s:
        assert s.scalars(select(Change)).all() == []
        assert store.get_round(s, open_round).changes_published_at is None


def test_only_the_lead_writes_and_publishes(as_role, open_round):
    reviewer = as_role("reviewer")
    page = reviewer.get(f"/admin/rounds/{open_round}/changes")
    assert page.status_code == 200 and "Add a line" not in page.get_data(as_text=True)
    token = hidden_fields(page.get_data(as_text=True)).get("csrf_token", "")
    data = {"csrf_token": token, "you_said": SAID, "we_did": DID}
    assert reviewer.post(f"/admin/rounds/{open_round}/changes/add", data=data).status_code == 403
    data = {"csrf_token": token, "action": "publish"}
    res = reviewer.post(f"/admin/rounds/{open_round}/changes/publish", data=data)
    assert res.status_code == 403


def test_welsh_lines_show_on_the_welsh_page(as_role, client, rt):
    with rt.transaction() as s:
        code = store.open_round(
            s,
            rt.catalogue,
            title="Bilingual",
            priorities=["policing"],
            audiences=["child"],
            languages=["cy", "en"],
        ).code
    lead = as_role("lead")
    _add(lead, code, you_said_cy="Dywedoch chi fod angen clwb.", we_did_cy="Fe agoron ni glwb.")
    _publish(lead, code)
    welsh = client.get(f"/r/{code}/changed?lang=cy").get_data(as_text=True)
    assert "Dywedoch chi fod angen clwb." in welsh and 'lang="cy"' in welsh
    english = client.get(f"/r/{code}/changed?lang=en").get_data(as_text=True)
    assert SAID in english and "Dywedoch chi fod" not in english


def test_after_the_round_its_link_leads_to_what_changed(as_role, client, open_round, rt):
    lead = as_role("lead")
    _add(lead, open_round)
    _publish(lead, open_round)
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    page = client.get(f"/r/{open_round}/child")
    assert page.status_code == 410
    assert f'href="/r/{open_round}/changed"' in page.get_data(as_text=True)
