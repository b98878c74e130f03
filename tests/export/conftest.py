"""An invented round for export tests: approved quotes, planted identifiers and traps.

Every trap is text that must never reach an export: flagged answers (raw and redacted),
answers not yet approved, approved answers nobody chose as a quote, superseded answers,
answers with a safeguarding case, and the raw names behind every redaction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from surveys.storage import store
from surveys.storage.models import Answer, Proposal, Respondent, SafeguardingCase

# Raw identifiers planted in the answers' original text; redaction replaced each of them.
PLANTED = [
    "Jayden Marsh",
    "Tyler Brookes",
    "Elm Street",
    "07700 900123",
    "Oakfield Academy",
    "@kai_lad99",
    "Keisha Grant",
]

CHILD_QUOTES = {  # question -> quotes that must be printed (approved, chosen, unflagged)
    "policing.opinion": [
        "They was fair with me when I got arrested.",
        "They should listen before they shout.",
        "[name] was nice to me at the station.",
    ],
    "policing.talk": ["Talk to us like people.", '=HYPERLINK("http://x") talk slower'],
}
EDITED_QUOTE = "The police are OK, they helped me."  # the lead's light edit
EDITED_FROM = "the police are ok i guess they helped me innit"
PARENT_QUOTE = "My son was treated with respect at [school]."
MOVED_QUOTE = "We needed someone to talk to as a family."
EDUCATION_QUOTES = ["School never listened to me.", "The PRU was better than school."]
GENERAL_QUOTE = "My worker was always there for me."
NEVER = [  # text that must appear in no export, in any format
    "[name] hurts me at home",  # flagged (redacted form)
    "Police on [street] are brutal",  # not approved
    "Approved but nobody chose it",  # approved, not a quote
    "An old answer that was changed",  # superseded
    "Something with a safeguarding case",  # has a case although not flagged
    "Rejected by the reviewer",  # rejected
    EDITED_FROM,  # the original of an edited quote is kept but never printed
    "Declined idea about curfews",  # declined proposal
    "Merged duplicate idea",  # merged proposal
    "Open idea nobody accepted",  # open proposal
]


@dataclass
class Built:
    code: str
    round_id: int
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


def _respondent(session, rnd, n, audience, channel):
    r = Respondent(
        id=f"{n:032x}",
        round_id=rnd.id,
        channel=channel,
        audience=audience,
        withdraw_hash=f"{n:064x}",
        state={},
        state_version=0,
    )
    session.add(r)
    return r


def _answer(
    session,
    rnd,
    resp,
    qid,
    text,
    *,
    redacted=None,
    status="pending",
    quote=False,
    flagged=False,
    choice=None,
    override=None,
    quote_text=None,
    sentiment=None,
    superseded=False,
    key,
):
    a = Answer(
        round_id=rnd.id,
        respondent_id=resp.id,
        priority=qid.split(".")[0],
        question_id=qid,
        audience=resp.audience,
        channel=resp.channel,
        text=text,
        choice=choice,
        inbound_key=f"test:{key}",
        superseded=superseded,
        redacted=redacted if redacted is not None else (None if choice else text),
        review_status=status,
        is_quote=quote,
        flagged=flagged,
        priority_override=override,
        quote_text=quote_text,
        sentiment=sentiment,
    )
    session.add(a)
    return a


def build_round(rt) -> str:
    """Build the invented round and return its code."""
    keys = itertools.count(1)
    with rt.transaction() as s:
        rnd = store.open_round(
            s,
            rt.catalogue,
            title="Plan 2027/28 consultation",
            priorities=["policing", "education", "remands"],
            audiences=["child", "parent", "staff", "partner"],
        )
        people = itertools.count(1)

        def person(audience, channel):
            return _respondent(s, rnd, next(people), audience, channel)

        def ans(resp, qid, text, **kw):
            return _answer(s, rnd, resp, qid, text, key=next(keys), **kw)

        s.flush()
        # 12 children answer on policing: web and telegram.
        kids = [person("child", "web" if i % 3 else "telegram") for i in range(12)]
        s.flush()
        ans(
            kids[0],
            "policing.opinion",
            CHILD_QUOTES["policing.opinion"][0],
            status="approved",
            quote=True,
            sentiment="positive",
        )
        ans(
            kids[1],
            "policing.opinion",
            CHILD_QUOTES["policing.opinion"][1],
            status="approved",
            quote=True,
            sentiment="negative",
        )
        ans(
            kids[2],
            "policing.opinion",
            "PC Jayden Marsh was nice to me at the station.",
            redacted=CHILD_QUOTES["policing.opinion"][2],
            status="approved",
            quote=True,
            sentiment="positive",
        )
        ans(
            kids[3],
            "policing.opinion",
            EDITED_FROM,
            status="approved",
            quote=True,
            quote_text=EDITED_QUOTE,
            sentiment="positive",
        )
        ans(
            kids[4],
            "policing.talk",
            CHILD_QUOTES["policing.talk"][0],
            status="approved",
            quote=True,
            sentiment="neutral",
        )
        ans(
            kids[5],
            "policing.talk",
            CHILD_QUOTES["policing.talk"][1],
            status="approved",
            quote=True,
            sentiment="neutral",
        )
        # Traps, from children who still count towards N.
        flagged = ans(
            kids[6],
            "policing.opinion",
            "Tyler Brookes hurts me at home",
            redacted="[name] hurts me at home",
            status="approved",
            quote=True,
            flagged=True,
            sentiment="negative",
        )
        ans(
            kids[7],
            "policing.opinion",
            "Police on Elm Street are brutal",
            redacted="Police on [street] are brutal",
            quote=True,
            sentiment="negative",
        )
        ans(
            kids[8],
            "policing.talk",
            "Approved but nobody chose it",
            status="approved",
            sentiment="neutral",
        )
        ans(
            kids[9],
            "policing.talk",
            "An old answer that was changed",
            status="approved",
            quote=True,
            superseded=True,
        )
        ans(
            kids[9],
            "policing.talk",
            "text me on 07700 900123",
            redacted="text me on [phone]",
            sentiment="neutral",
        )
        cased = ans(
            kids[10],
            "policing.opinion",
            "Something with a safeguarding case",
            status="approved",
            quote=True,
        )
        ans(kids[11], "policing.talk", "Rejected by the reviewer", status="rejected", quote=True)
        ans(
            kids[11],
            "policing.opinion",
            "follow @kai_lad99",
            redacted="follow [handle]",
            sentiment="positive",
        )
        # Ratings: 4 very good, 6 good, 2 ok -> 33% 50% 17% 0%.
        for kid, choice in zip(kids, ["very_good"] * 4 + ["good"] * 6 + ["ok"] * 2):
            ans(kid, "policing.stop_search_rating", choice.replace("_", " "), choice=choice)
        # 4 parents on policing (fewer than 10), on paper.
        parents = [person("parent", "import") for _ in range(4)]
        s.flush()
        ans(
            parents[0],
            "policing.opinion",
            "My son was treated with respect at Oakfield Academy.",
            redacted=PARENT_QUOTE,
            status="approved",
            quote=True,
            sentiment="positive",
        )
        for p, choice in zip(parents[:3], ["good", "poor", "ok"]):
            ans(p, "policing.stop_search_rating", choice, choice=choice)
        # A parent's education answer the reviewer moved to working with families.
        ans(
            parents[1],
            "education.experience",
            "We needed someone to talk to as a family.",
            status="approved",
            quote=True,
            override="working_with_families",
        )
        # 10 children on education.
        for i, kid in enumerate(kids[:10]):
            if i < 2:
                ans(
                    kid,
                    "education.experience",
                    EDUCATION_QUOTES[i],
                    status="approved",
                    quote=True,
                    sentiment="negative" if i == 0 else "positive",
                )
            else:
                ans(
                    kid,
                    "education.experience",
                    "Keisha Grant is my teacher",
                    redacted="[name] is my teacher",
                    sentiment="neutral",
                )
        # Remands: one pending answer only, nothing to quote.
        ans(kids[0], "remands.support", "Not sure", sentiment="neutral")
        # General: 11 children rate the service; one quote.
        for kid, choice in zip(kids[:11], ["very_good"] * 5 + ["good"] * 5 + ["poor"]):
            ans(kid, "general.rating", choice, choice=choice)
        ans(
            kids[0],
            "general.rating_why",
            GENERAL_QUOTE,
            status="approved",
            quote=True,
            sentiment="positive",
        )
        # Staff are not quoted in the children's or parents' boxes.
        staff = person("staff", "web")
        s.flush()
        ans(staff, "policing.opinion", "Staff view on police", status="approved", quote=True)
        s.flush()
        s.add(SafeguardingCase(answer_id=flagged.id, round_id=rnd.id, categories=["abuse"]))
        s.add(SafeguardingCase(answer_id=cased.id, round_id=rnd.id, categories=["danger"]))
        # Proposals: two accepted on policing, one on diversion; the rest must not print.
        for prio, agency, achieve, do, ev, status in [
            (
                "policing",
                "Police",
                "Fewer children searched without cause",
                "Train officers in Child First stop and search",
                "Drop in searches of children",
                "accepted",
            ),
            (
                "policing",
                "Health",
                "Speech and language screening in custody",
                "Screen every child held overnight",
                "Share of children screened",
                "accepted",
            ),
            (
                "diversion",
                "Police",
                "Swifter outcomes for cases returned from court",
                "Attend youth court weekly to deliver out-of-court resolutions",
                "Reduction in time taken",
                "accepted",
            ),
            ("policing", "Council", "Declined idea about curfews", "x", "y", "declined"),
            ("policing", "Council", "Merged duplicate idea", "x", "y", "merged"),
            ("education", "School", "Open idea nobody accepted", "x", "y", "open"),
        ]:
            s.add(
                Proposal(
                    round_id=rnd.id,
                    priority=prio,
                    agency=agency,
                    achieve=achieve,
                    do=do,
                    evidence=ev,
                    status=status,
                )
            )
        return rnd.code


@pytest.fixture
def built_round(rt):
    """Return the code of the invented round (on SQLite and on PostgreSQL)."""
    return build_round(rt)
