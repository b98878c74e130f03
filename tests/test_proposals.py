"""Staff and partner proposals: checked, supported once per voter, merged without double
counting, numbered like the plan's action table. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from surveys.services import proposals
from surveys.services.exporting import build_plan
from surveys.services.proposals import Draft
from surveys.storage import store
from surveys.storage.models import Proposal, ProposalVote

GOOD = Draft(
    "policing",
    "Police",
    "Swifter outcomes for cases returned from court",
    "Attend youth court weekly to deliver out-of-court resolutions",
    "Reduction in time taken",
)


def make(rt, code, draft=GOOD, **kw) -> int:
    with rt.transaction() as s:
        return proposals.create(s, store.get_round(s, code), draft, **kw).id


def vote(rt, code, pid, voter) -> bool:
    with rt.transaction() as s:
        return proposals.support(s, store.get_round(s, code), pid, voter)


def views(rt, code, **kw):
    with rt.transaction() as s:
        return {
            v.id: v
            for v in proposals.list_for_round(s, store.get_round(s, code), rt.catalogue, **kw)
        }


# ---- pure -----------------------------------------------------------------------------------
def test_a_complete_proposal_passes_the_check():
    assert proposals.check(GOOD, ["policing"]) == {}


def test_empty_fields_are_each_named():
    errors = proposals.check(Draft("", " ", "", "", ""), ["policing"])
    assert set(errors) == {"priority", "agency", "achieve", "do", "evidence"}
    assert errors["evidence"] == "Please fill in Evidence / Measure."


def test_too_long_and_wrong_priority():
    long = Draft("education", "P" * 101, "a", "b", "c" * 1001)
    errors = proposals.check(long, ["policing"])
    assert set(errors) == {"priority", "agency", "evidence"}


def test_form_values_are_tidied():
    d = Draft.from_form(
        {
            "priority": " policing ",
            "agency": " Youth   Justice\tService ",
            "achieve": "line one  \r\n\r\n\r\n\r\nline two\x00",
            "do": None,
            "evidence": "  x  ",
        }
    )
    assert d.agency == "Youth Justice Service" and d.achieve == "line one\n\nline two"
    assert d.do == "" and d.evidence == "x" and d.priority == "policing"


def test_action_ids_follow_plan_order_and_sequence_per_priority():
    ids = proposals.number_actions(
        [(1, "diversion", "Police"), (2, "policing", "YJS"), (3, "diversion", "Health")],
        {"policing": 2, "diversion": 4},
    )
    assert ids == {1: "4:1 Police", 2: "2:1 YJS", 3: "4:2 Health"}


# ---- stored ---------------------------------------------------------------------------------
def test_create_and_list(rt, open_round):
    pid = make(rt, open_round)
    [v] = views(rt, open_round).values()
    assert (v.id, v.status, v.votes, v.priority_title, v.action_id) == (
        pid,
        "open",
        0,
        "Policing",
        None,
    )


def test_proposal_with_empty_fields_is_refused(rt, open_round):
    with pytest.raises(proposals.InvalidProposal) as exc:
        make(rt, open_round, Draft("policing", "", "x", "", "y"))
    assert set(exc.value.errors) == {"agency", "do"}
    assert views(rt, open_round) == {}


def test_priority_outside_the_round_is_refused(rt, open_round):
    with pytest.raises(proposals.InvalidProposal, match="priority"):
        make(rt, open_round, Draft("diversion", "Police", "a", "b", "c"))


def test_proposal_for_a_closed_round_is_refused(rt, open_round):
    pid = make(rt, open_round)
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    with pytest.raises(store.RoundClosed):
        make(rt, open_round)
    with pytest.raises(store.RoundClosed):
        vote(rt, open_round, pid, "v" * 64)


def test_round_without_staff_or_partners_takes_no_proposals(rt):
    with rt.transaction() as s:
        code = store.open_round(
            s,
            rt.catalogue,
            title="Kids only",
            priorities=["policing"],
            audiences=["child", "parent"],
        ).code
    with pytest.raises(proposals.ProposalsNotOffered):
        make(rt, code)


def test_a_reposted_form_stores_one_proposal(rt, open_round):
    first = make(rt, open_round, inbound_key="web:proposal:abc")
    assert make(rt, open_round, inbound_key="web:proposal:abc") == first
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Proposal)) == 1


def test_a_second_vote_by_the_same_voter_is_not_counted(rt, open_round):
    pid = make(rt, open_round)
    assert vote(rt, open_round, pid, "a" * 64) is True
    assert vote(rt, open_round, pid, "a" * 64) is False
    assert vote(rt, open_round, pid, "b" * 64) is True
    assert views(rt, open_round)[pid].votes == 2
    assert views(rt, open_round, voter="a" * 64)[pid].supported
    assert not views(rt, open_round, voter="c" * 64)[pid].supported


def test_voter_key_is_a_keyed_hash_of_the_token():
    key = proposals.voter_key("secret-one", "token")
    assert key != proposals.voter_key("secret-two", "token") and len(key) == 64
    assert "token" not in key


def test_a_proposal_of_another_round_cannot_be_supported(rt, open_round):
    with rt.transaction() as s:
        other = store.open_round(
            s, rt.catalogue, title="Other", priorities=["policing"], audiences=["staff"]
        ).code
    pid = make(rt, other)
    with pytest.raises(proposals.ProposalNotFound):
        vote(rt, open_round, pid, "a" * 64)


def test_declined_proposal_cannot_be_supported(rt, open_round):
    pid = make(rt, open_round)
    with rt.transaction() as s:
        proposals.set_status(s, store.get_round(s, open_round), pid, "declined")
    with pytest.raises(proposals.ProposalNotFound):
        vote(rt, open_round, pid, "a" * 64)


def test_merging_moves_votes_and_counts_each_voter_once(rt, open_round):
    keep, dup = make(rt, open_round), make(rt, open_round)
    for v in ("a", "b"):
        vote(rt, open_round, keep, v * 64)
    for v in ("b", "c", "d"):
        vote(rt, open_round, dup, v * 64)
    with rt.transaction() as s:
        kept = proposals.merge(s, store.get_round(s, open_round), dup, keep)
        assert kept.id == keep
    all_views = views(rt, open_round)
    assert all_views[keep].votes == 4  # a, b, c, d: b counted once
    assert all_views[keep].merged_from == (dup,)
    assert all_views[dup].status == "merged" and all_views[dup].votes == 0
    # Supporting the merged duplicate supports the one kept, once.
    assert vote(rt, open_round, dup, "c" * 64) is False
    assert vote(rt, open_round, dup, "e" * 64) is True
    assert views(rt, open_round)[keep].votes == 5
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ProposalVote)) == 5


def test_merging_a_chain_points_everything_at_the_one_kept(rt, open_round):
    a, b, c = (make(rt, open_round) for _ in range(3))
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        proposals.merge(s, rnd, c, b)
        proposals.merge(s, rnd, b, a)
    v = views(rt, open_round)
    assert v[c].merged_into == a and set(v[a].merged_from) == {b, c}


@pytest.mark.parametrize("case", ["self", "merged"])
def test_impossible_merges_are_refused(rt, open_round, case):
    a, b = make(rt, open_round), make(rt, open_round)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        if case == "self":
            with pytest.raises(proposals.CannotMerge):
                proposals.merge(s, rnd, a, a)
        else:
            proposals.merge(s, rnd, b, a)
            with pytest.raises(proposals.CannotMerge):
                proposals.merge(s, rnd, a, b)
            with pytest.raises(proposals.CannotMerge):
                proposals.set_status(s, rnd, b, "accepted")


def test_accepted_proposals_are_numbered_as_the_plan_prints_them(rt, open_round):
    first = make(rt, open_round)
    declined = make(rt, open_round, Draft("policing", "YJS", "a", "b", "c"))
    second = make(rt, open_round, Draft("policing", "Health", "a", "b", "c"))
    school = make(rt, open_round, Draft("education", "Education", "a", "b", "c"))
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        for pid in (first, second, school):
            proposals.set_status(s, rnd, pid, "accepted")
        proposals.set_status(s, rnd, declined, "declined")
    v = views(rt, open_round)
    assert (v[first].action_id, v[second].action_id, v[school].action_id) == (
        "2:1 Police",
        "2:2 Health",
        "5:1 Education",
    )
    assert v[declined].action_id is None
    with rt.transaction() as s:
        plan = build_plan(s, store.get_round(s, open_round), rt.catalogue)
    printed = {a.id for sec in plan.sections for a in sec.actions}
    assert printed == {"2:1 Police", "2:2 Health", "5:1 Education"}


def test_reopening_takes_a_proposal_out_of_the_plan(rt, open_round):
    pid = make(rt, open_round)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        proposals.set_status(s, rnd, pid, "accepted")
        proposals.set_status(s, rnd, pid, "open")
    assert views(rt, open_round)[pid].action_id is None
    with pytest.raises(ValueError), rt.transaction() as s:
        proposals.set_status(s, store.get_round(s, open_round), pid, "merged")


def test_counts_by_round(rt, open_round):
    a, b = make(rt, open_round), make(rt, open_round)
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        proposals.set_status(s, rnd, a, "accepted")
        counts = proposals.counts_by_round(s)
        assert counts[rnd.id] == {"accepted": 1, "open": 1}
    assert b
