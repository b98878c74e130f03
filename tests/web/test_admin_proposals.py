"""Proposals in the workbench: readers see them; only the lead accepts, declines and merges,
with CSRF, and only proposals of the round in the URL. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

import pytest

from surveys.services import proposals
from surveys.services.proposals import Draft
from surveys.storage import store
from surveys.storage.models import Proposal, ProposalVote
from tests.web.conftest import hidden_fields


def page_text(res) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", res.get_data(as_text=True))).split())


@pytest.fixture
def three(rt, open_round):
    """Three proposals in the round (two of them duplicates) with some support."""
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        a = proposals.create(
            s,
            rnd,
            Draft(
                "policing", "Police", "Swifter outcomes", "Attend youth court weekly", "Time taken"
            ),
        )
        b = proposals.create(
            s,
            rnd,
            Draft(
                "policing",
                "Police",
                "Quicker outcomes",
                "Go to court every week",
                "Days to outcome",
            ),
        )
        c = proposals.create(
            s,
            rnd,
            Draft(
                "education",
                "Education",
                "Fewer exclusions",
                "Inclusion officer in each school",
                "Exclusions",
            ),
        )
        s.flush()
        for voter in ("a", "b"):
            proposals.support(s, rnd, a.id, voter * 64)
        for voter in ("b", "c"):
            proposals.support(s, rnd, b.id, voter * 64)
        return a.id, b.id, c.id


def decide(client, code, pid, action, into=None, *, csrf=True):
    url = f"/admin/rounds/{code}/proposals"
    data = {"proposal": str(pid), "action": action}
    if into is not None:
        data["into"] = str(into)
    if csrf:
        data["csrf_token"] = hidden_fields(client.get(url).get_data(as_text=True))["csrf_token"]
    return client.post(f"{url}/decide", data=data)


@pytest.mark.parametrize("role", ["lead", "reviewer", "viewer"])
def test_readers_see_the_proposals(as_role, open_round, three, role):
    client = as_role(role)
    index = page_text(client.get("/admin/proposals"))
    assert "Test round" in index
    res = client.get(f"/admin/rounds/{open_round}/proposals")
    text = page_text(res)
    assert "Swifter outcomes" in text and "Fewer exclusions" in text
    assert "2 supporters" in text
    assert ('value="accept"' in res.get_data(as_text=True)) == (role == "lead")


def test_safeguarding_role_does_not_need_proposals(as_role, open_round):
    client = as_role("safeguarding")
    assert client.get("/admin/proposals").status_code == 403
    assert client.get(f"/admin/rounds/{open_round}/proposals").status_code == 403


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_lead_accepts_and_the_plan_id_is_shown(rt, as_role, open_round, three):
    a, _, c = three
    lead = as_role("lead")
    res = decide(lead, open_round, a, "accept")
    assert res.status_code == 303
    text = page_text(lead.get(res.headers["Location"]))
    assert "in the plan's action table as 2:1 Police" in text
    decide(lead, open_round, c, "accept")
    assert "5:1 Education" in page_text(lead.get(f"/admin/rounds/{open_round}/proposals"))


def test_lead_declines_and_reopens(rt, as_role, open_round, three):
    a, _, _ = three
    lead = as_role("lead")
    decide(lead, open_round, a, "decline")
    with rt.transaction() as s:
        assert s.get(Proposal, a).status == "declined"
    decide(lead, open_round, a, "reopen")
    with rt.transaction() as s:
        assert s.get(Proposal, a).status == "open"


def test_lead_merges_duplicates_and_support_moves_once(rt, as_role, open_round, three):
    a, b, _ = three
    lead = as_role("lead")
    res = decide(lead, open_round, b, "merge", into=a)
    assert res.status_code == 303
    text = page_text(lead.get(res.headers["Location"]))
    assert f"Proposal {b} merged into proposal {a}" in text
    assert "3 supporters" in text and "Merged from 1 duplicate" in text
    with rt.transaction() as s:
        assert s.get(Proposal, b).status == "merged"
        assert s.query(ProposalVote).count() == 3


def test_merge_without_a_target_or_into_itself(rt, as_role, open_round, three):
    a, _, _ = three
    lead = as_role("lead")
    res = decide(lead, open_round, a, "merge")
    assert "Choose the proposal to merge it into" in page_text(lead.get(res.headers["Location"]))
    res = decide(lead, open_round, a, "merge", into=a)
    assert "cannot be merged into itself" in page_text(lead.get(res.headers["Location"]))
    with rt.transaction() as s:
        assert s.get(Proposal, a).status == "open"


@pytest.mark.parametrize("role", ["reviewer", "viewer", "safeguarding"])
def test_only_the_lead_decides(rt, as_role, open_round, three, role):
    a, _, _ = three
    client = as_role(role)
    home = client.get("/admin/login", follow_redirects=True)  # each role's own start page
    token = hidden_fields(home.get_data(as_text=True))["csrf_token"]
    res = client.post(
        f"/admin/rounds/{open_round}/proposals/decide",
        data={"csrf_token": token, "proposal": str(a), "action": "accept"},
    )
    assert res.status_code == 403
    with rt.transaction() as s:
        assert s.get(Proposal, a).status == "open"


def test_decide_without_csrf_token_is_refused(rt, as_role, open_round, three):
    a, _, _ = three
    assert decide(as_role("lead"), open_round, a, "accept", csrf=False).status_code == 400
    with rt.transaction() as s:
        assert s.get(Proposal, a).status == "open"


def test_a_proposal_of_another_round_cannot_be_reached_by_editing_the_id(
    rt, as_role, open_round, three
):
    with rt.transaction() as s:
        other = store.open_round(
            s, rt.catalogue, title="Other", priorities=["policing"], audiences=["staff"]
        )
        theirs = proposals.create(s, other, Draft("policing", "YJS", "a", "b", "c"))
        s.flush()
        theirs_id = theirs.id
    lead = as_role("lead")
    assert decide(lead, open_round, theirs_id, "accept").status_code == 404
    assert decide(lead, open_round, three[0], "merge", into=theirs_id).status_code == 404
    with rt.transaction() as s:
        assert s.get(Proposal, theirs_id).status == "open"
        assert s.get(Proposal, three[0]).status == "open"


@pytest.mark.parametrize(
    "data", [{"proposal": "x", "action": "accept"}, {"proposal": "1", "action": "delete"}]
)
def test_malformed_decisions_are_refused(as_role, open_round, three, data):
    lead = as_role("lead")
    url = f"/admin/rounds/{open_round}/proposals"
    token = hidden_fields(lead.get(url).get_data(as_text=True))["csrf_token"]
    assert lead.post(f"{url}/decide", data={**data, "csrf_token": token}).status_code == 400


def test_get_on_decide_goes_back_to_the_list(as_role, open_round):
    res = as_role("lead").get(f"/admin/rounds/{open_round}/proposals/decide")
    assert res.status_code == 302 and res.headers["Location"].endswith("/proposals")


def test_unknown_round(as_role):
    assert as_role("lead").get("/admin/rounds/NOPE42/proposals").status_code == 404


def test_pages_have_no_inline_script_or_style(as_role, open_round, three):
    lead = as_role("lead")
    for url in ("/admin/proposals", f"/admin/rounds/{open_round}/proposals"):
        body = lead.get(url).get_data(as_text=True)
        assert "<script" not in body and "style=" not in body
