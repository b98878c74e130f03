"""The proposals page for staff and partners: see, support once, propose; CSRF on every POST;
only for open rounds that ask staff or partners. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import uuid

import pytest

from surveys.services import proposals
from surveys.storage import store
from surveys.storage.models import Proposal, ProposalVote, Respondent
from tests.web.conftest import count, form_of, hidden_fields

FORM = {
    "priority": "policing",
    "agency": "Police",
    "achieve": "Swifter outcomes for cases returned from court",
    "do": "Attend youth court weekly",
    "evidence": "Reduction in time taken",
}


def page_text(res) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", res.get_data(as_text=True))).split())


def staff_browser(app, code, audience="staff"):
    """Return a client that opened the survey's staff (or partner) link."""
    client = app.test_client()
    assert client.get(f"/r/{code}/{audience}").status_code == 200
    return client


def propose(client, code, **changes):
    page = client.get(f"/r/{code}/proposals/new").get_data(as_text=True)
    fields = hidden_fields(page)
    return client.post(f"/r/{code}/proposals/new", data={**fields, **FORM, **changes})


def support(client, code, pid, *, csrf=True):
    # Any of our forms carries the session's token (a supported proposal has no button).
    fields = hidden_fields(client.get(f"/r/{code}/proposals/new").get_data(as_text=True))
    data = {"proposal": str(pid)}
    if csrf:
        data["csrf_token"] = fields["csrf_token"]
    return client.post(f"/r/{code}/proposals", data=data)


def only_proposal_id(rt) -> int:
    with rt.transaction() as s:
        return s.query(Proposal.id).one()[0]


def test_staff_propose_and_see_it_listed(rt, app, open_round):
    client = staff_browser(app, open_round)
    page = client.get(f"/r/{open_round}/proposals")
    assert page.status_code == 200 and "Propose an action" in page_text(page)
    res = propose(client, open_round)
    assert res.status_code == 303
    listed = page_text(client.get(res.headers["Location"].split("#")[0]))
    assert "Your proposal is on the list" in listed
    assert "Swifter outcomes for cases returned from court" in listed
    assert "0 people support this" in listed
    with rt.transaction() as s:
        p = s.query(Proposal).one()
        resp = s.get(Respondent, p.respondent_id)
        assert resp.audience == "staff" and p.status == "open"


def test_partners_can_propose_too(rt, app, open_round):
    client = staff_browser(app, open_round, "partner")
    assert propose(client, open_round).status_code == 303
    assert count(rt, Proposal) == 1


def test_proposal_with_empty_fields_is_refused_with_each_field_named(rt, app, open_round):
    client = staff_browser(app, open_round)
    res = propose(client, open_round, agency=" ", do="", priority="")
    assert res.status_code == 422
    text = page_text(res)
    assert "Please fill in Agency." in text and "Please fill in Do." in text
    assert "Choose the priority this action is for." in text
    assert 'aria-invalid="true"' in res.get_data(as_text=True)
    assert "Swifter outcomes" in text  # what they typed is kept
    assert count(rt, Proposal) == 0


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_priority_outside_the_round_is_refused(rt, app, open_round):
    res = propose(staff_browser(app, open_round), open_round, priority="diversion")
    assert res.status_code == 422 and count(rt, Proposal) == 0


def test_a_double_posted_proposal_is_stored_once(rt, app, open_round):
    client = staff_browser(app, open_round)
    fields = hidden_fields(client.get(f"/r/{open_round}/proposals/new").get_data(as_text=True))
    for _ in range(2):
        assert (
            client.post(f"/r/{open_round}/proposals/new", data={**fields, **FORM}).status_code
            == 303
        )
    assert count(rt, Proposal) == 1


def test_bad_submission_id_is_refused(rt, app, open_round):
    client = staff_browser(app, open_round)
    res = propose(client, open_round, submission="not-a-uuid")
    assert res.status_code == 400 and count(rt, Proposal) == 0


def test_support_counts_once_per_person(rt, app, open_round):
    author = staff_browser(app, open_round)
    propose(author, open_round)
    pid = only_proposal_id(rt)
    colleague = staff_browser(app, open_round, "partner")
    first = support(colleague, open_round, pid)
    assert first.status_code == 303
    assert "your support is counted" in page_text(colleague.get(f"/r/{open_round}/proposals"))
    second = support(colleague, open_round, pid)
    assert second.status_code == 303
    page = page_text(colleague.get(f"/r/{open_round}/proposals"))
    assert "You already support this one" in page and "1 person supports this" in page
    assert "You support this." in page
    support(author, open_round, pid)
    assert count(rt, ProposalVote) == 2
    with rt.transaction() as s:
        keys = [v.voter_key for v in s.query(ProposalVote)]
        tokens = [
            author.get_cookie("yjv_staff", path=f"/r/{open_round}").value,
            colleague.get_cookie("yjv_partner", path=f"/r/{open_round}").value,
        ]
        assert all(len(k) == 64 for k in keys)
        assert not set(keys) & {*tokens, *(store.token_hash(t) for t in tokens)}


@pytest.mark.parametrize("path", ["/proposals", "/proposals/new"])
def test_posts_without_csrf_token_are_refused(rt, app, open_round, path):
    client = staff_browser(app, open_round)
    propose(client, open_round)
    pid = only_proposal_id(rt)
    data = (
        {"proposal": str(pid)}
        if path == "/proposals"
        else {**FORM, "submission": str(uuid.uuid4())}
    )
    res = client.post(f"/r/{open_round}{path}", data=data)
    assert res.status_code == 400
    assert count(rt, ProposalVote) == 0 and count(rt, Proposal) == 1


def test_join_without_csrf_token_is_refused(rt, app, open_round):
    res = app.test_client().post(f"/r/{open_round}/proposals/join", data={"audience": "staff"})
    assert res.status_code == 400


def test_a_newcomer_says_they_are_staff_first(rt, app, open_round):
    client = app.test_client()
    page = client.get(f"/r/{open_round}/proposals")
    assert page.status_code == 200
    text = page_text(page)
    assert "This page is for staff and partner agencies" in text
    assert "I work in the youth justice service" in text
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    res = client.post(
        f"/r/{open_round}/proposals/join", data={"csrf_token": token, "audience": "staff"}
    )
    assert res.status_code == 303
    assert "Propose an action" in page_text(client.get(f"/r/{open_round}/proposals"))
    assert count(rt, Respondent) == 1
    # The same cookie carries on into the survey as a member of staff.
    survey = page_text(client.get(f"/r/{open_round}/staff"))
    assert count(rt, Respondent) == 1 and survey


def test_joining_as_a_child_is_not_offered(rt, app, open_round):
    client = app.test_client()
    token = hidden_fields(client.get(f"/r/{open_round}/proposals").get_data(as_text=True))[
        "csrf_token"
    ]
    res = client.post(
        f"/r/{open_round}/proposals/join", data={"csrf_token": token, "audience": "child"}
    )
    assert res.status_code == 400 and count(rt, Respondent) == 0


def test_a_young_person_sees_the_join_page_not_the_proposals(rt, app, open_round):
    client = app.test_client()
    client.get(f"/r/{open_round}/child")
    author = staff_browser(app, open_round)
    propose(author, open_round)
    page = client.get(f"/r/{open_round}/proposals")
    assert "Swifter outcomes" not in page_text(page)
    assert client.get(f"/r/{open_round}/proposals/new").status_code == 200
    assert "This page is for staff" in page_text(client.get(f"/r/{open_round}/proposals/new"))
    res = support(client, open_round, only_proposal_id(rt))
    assert res.status_code == 403 and count(rt, ProposalVote) == 0


def test_proposals_for_a_closed_round_are_refused(rt, app, open_round):
    client = staff_browser(app, open_round)
    fields = hidden_fields(client.get(f"/r/{open_round}/proposals/new").get_data(as_text=True))
    propose(client, open_round)
    pid = only_proposal_id(rt)
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    res = client.post(
        f"/r/{open_round}/proposals/new", data={**fields, **FORM, "submission": str(uuid.uuid4())}
    )
    assert res.status_code == 410 and "closed" in page_text(res)
    assert client.get(f"/r/{open_round}/proposals").status_code == 410
    assert support(client, open_round, pid, csrf=False).status_code in (400, 410)
    assert count(rt, Proposal) == 1 and count(rt, ProposalVote) == 0


def test_round_without_staff_or_partners_has_no_proposals_page(rt, client):
    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Young people only", priorities=["policing"], audiences=["child"]
        ).code
    assert client.get(f"/r/{code}/proposals").status_code == 404
    assert client.get(f"/r/{code}/proposals/new").status_code == 404


def test_unknown_round_and_unknown_proposal(rt, app, open_round):
    assert app.test_client().get("/r/NOPE42/proposals").status_code == 404
    client = staff_browser(app, open_round)
    assert support(client, open_round, 999999).status_code == 404
    assert support(client, open_round, "x").status_code == 400


def test_a_proposal_of_another_round_cannot_be_supported_here(rt, app, open_round):
    with rt.transaction() as s:
        other = store.open_round(
            s, rt.catalogue, title="Other", priorities=["policing"], audiences=["staff"]
        ).code
    propose(staff_browser(app, other), other)
    pid = only_proposal_id(rt)
    assert support(staff_browser(app, open_round), open_round, pid).status_code == 404
    assert count(rt, ProposalVote) == 0


def test_declined_and_merged_proposals_are_not_shown(rt, app, open_round):
    client = staff_browser(app, open_round)
    for achieve in ("Kept one", "Declined one", "Merged one"):
        propose(client, open_round, achieve=achieve)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        ids = {p.achieve: p.id for p in s.query(Proposal)}
        proposals.set_status(s, rnd, ids["Declined one"], "declined")
        proposals.merge(s, rnd, ids["Merged one"], ids["Kept one"])
        proposals.set_status(s, rnd, ids["Kept one"], "accepted")
    text = page_text(client.get(f"/r/{open_round}/proposals"))
    assert "Kept one" in text and "in the plan as 2:1 Police" in text
    assert "Declined one" not in text and "Merged one" not in text


def finish_survey(client, code, audience):
    """Agree, then skip every question to reach the thank-you page; return it."""
    path = f"/r/{code}/{audience}"
    for _ in range(60):
        page = client.get(path).get_data(as_text=True)
        fields = hidden_fields(page)
        if "question" not in fields:
            return page
        if fields["question"] == "@consent":
            choice = next(v for n, v, _ in form_of(page).buttons if n == "choice")
            client.post(path, data={**fields, "choice": choice})
        else:
            client.post(path, data={**fields, "command": "skip"})
    raise AssertionError("the survey did not end")


def test_thank_you_page_links_staff_to_the_proposals(app, open_round):
    page = finish_survey(app.test_client(), open_round, "staff")
    assert "Thank you" in page and f'href="/r/{open_round}/proposals"' in page


def test_thank_you_page_has_no_proposals_link_for_young_people(app, open_round):
    page = finish_survey(app.test_client(), open_round, "child")
    assert "Thank you" in page and "/proposals" not in page


def test_pages_have_no_inline_script_or_style_and_are_not_cached(rt, app, open_round):
    client = staff_browser(app, open_round)
    propose(client, open_round)
    for url in (f"/r/{open_round}/proposals", f"/r/{open_round}/proposals/new"):
        res = client.get(url)
        body = res.get_data(as_text=True)
        assert "<script" not in body and "style=" not in body and "<style" not in body
        assert res.headers["Cache-Control"] == "no-store"
        assert 'name="viewport"' in body


def test_proposal_text_is_escaped(rt, app, open_round):
    client = staff_browser(app, open_round)
    propose(client, open_round, achieve="<script>alert(1)</script>")
    body = client.get(f"/r/{open_round}/proposals").get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
