"""The review queue's promises: flagged answers never show, filters and pages are right,
decisions, quotes, redaction undo/redo and bulk approval behave (SQLite and PostgreSQL).

Every answer here is invented. ``build_review_round`` is shared with the web tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from surveys.analysis.redact import redact
from surveys.services import review
from surveys.storage import store
from surveys.storage.models import Answer, Respondent, SafeguardingCase

#: Words that must never appear on a review, theme or dashboard page.
FLAGGED_TEXT = "my uncle hits me when he drinks FLAGMARK"
CASE_TEXT = "a man on the estate makes me hold stuff CASEMARK"
OTHER_ROUND_TEXT = "answer from the other round OTHERMARK"
SUPERSEDED_TEXT = "an answer I changed later SUPERSEDEDMARK"

WRITTEN: list[tuple[str, str, str, str, str]] = [
    # (name, question, audience, raw text, sentiment)
    (
        "named",
        "policing.opinion",
        "child",
        "PC Dave Smith was alright with me at the station",
        "positive",
    ),
    (
        "school",
        "policing.opinion",
        "child",
        "jayden from Oakfield Academy was sound with me, ring me on 07700 900123",
        "positive",
    ),
    (
        "listen",
        "policing.talk",
        "child",
        "the police need to listen to young people more",
        "neutral",
    ),
    (
        "street",
        "policing.talk",
        "child",
        "my mate Tyler got stopped on Elm Street for nothing",
        "negative",
    ),
    (
        "teacher",
        "education.experience",
        "child",
        "school was rubbish but Miss Grant helped me",
        "negative",
    ),
    (
        "parent",
        "policing.opinion",
        "parent",
        "they treated my son with respect at the station",
        "positive",
    ),
    ("clubs", "education.experience", "child", "more youth clubs and things to do", "neutral"),
    ("remand", "remands.support", "child", "visit more often when you are on remand", "neutral"),
]


@dataclass
class Seed:
    code: str
    round_id: int
    other_code: str
    ids: dict[str, int] = field(default_factory=dict)


def build_review_round(rt, *, extra_written: int = 0) -> Seed:
    """Build a round with written, tapped, flagged and superseded answers; return ids."""
    keys = itertools.count(1)
    with rt.transaction() as s:
        rnd = store.open_round(
            s,
            rt.catalogue,
            title="Review test round",
            priorities=["policing", "education", "remands"],
            audiences=["child", "parent", "staff", "partner"],
        )
        other = store.open_round(
            s,
            rt.catalogue,
            title="Another round",
            priorities=["policing"],
            audiences=["child"],
        )
        people = itertools.count(1)

        def person(r, audience, channel="web"):
            n = next(people)
            p = Respondent(
                id=f"{r.id:04x}{n:028x}",
                round_id=r.id,
                channel=channel,
                audience=audience,
                withdraw_hash=f"{r.id:04x}{n:060x}",
                state={},
                state_version=0,
            )
            s.add(p)
            s.flush()
            return p

        def answer(
            r, p, qid, text, *, sentiment=None, choice=None, flagged=False, superseded=False
        ):
            red = redact(text) if choice is None else None
            a = Answer(
                round_id=r.id,
                respondent_id=p.id,
                priority=qid.split(".")[0],
                question_id=qid,
                audience=p.audience,
                channel=p.channel,
                text=text,
                choice=choice,
                inbound_key=f"test:{next(keys)}",
                superseded=superseded,
                redacted=red.text if red else text,
                redactions=[
                    {
                        "start": sp.start,
                        "end": sp.end,
                        "category": sp.category,
                        "original": sp.original,
                        "placeholder": sp.placeholder,
                    }
                    for sp in red.spans
                ]
                if red
                else [],
                sentiment=sentiment,
                flagged=flagged,
                flag_categories=["abuse"] if flagged else [],
            )
            s.add(a)
            s.flush()
            return a

        seed = Seed(rnd.code, rnd.id, other.code)
        for name, qid, aud, text, feel in WRITTEN:
            p = person(rnd, aud, "telegram" if name == "street" else "web")
            seed.ids[name] = answer(rnd, p, qid, text, sentiment=feel).id
            answer(rnd, p, "general.rating", "Good", choice="good")
        for i in range(extra_written):
            p = person(rnd, "child")
            seed.ids[f"extra{i}"] = answer(
                rnd, p, "general.next_year", f"more youth clubs number {i}", sentiment="neutral"
            ).id
        kid = person(rnd, "child")
        flagged = answer(
            rnd, kid, "policing.opinion", FLAGGED_TEXT, sentiment="negative", flagged=True
        )
        s.add(SafeguardingCase(answer_id=flagged.id, round_id=rnd.id, categories=["abuse"]))
        cased = answer(rnd, kid, "policing.talk", CASE_TEXT, sentiment="negative")
        s.add(SafeguardingCase(answer_id=cased.id, round_id=rnd.id, categories=["exploitation"]))
        seed.ids["flagged"], seed.ids["cased"] = flagged.id, cased.id
        seed.ids["superseded"] = answer(
            rnd, kid, "remands.support", SUPERSEDED_TEXT, superseded=True
        ).id
        seed.ids["other"] = answer(
            other, person(other, "child"), "policing.opinion", OTHER_ROUND_TEXT, sentiment="neutral"
        ).id
        return seed


@pytest.fixture
def seed(rt):
    return build_review_round(rt)


def _round(s, seed):
    return store.get_round(s, seed.code)


def _queue(rt, seed, **args):
    with rt.transaction() as s:
        f = review.QueueFilter.from_args(args)
        return review.queue(s, _round(s, seed), f)


# ---- what the queue holds ---------------------------------------------------------------------
def test_queue_never_holds_flagged_cased_superseded_tapped_or_other_rounds(rt, seed):
    page = _queue(rt, seed, status="all")
    ids = {i.id for i in page.items}
    assert ids == {seed.ids[n] for n, *_ in WRITTEN}
    texts = " ".join(seg.text for i in page.items for seg in i.segments)
    for secret in (FLAGGED_TEXT, CASE_TEXT, OTHER_ROUND_TEXT, SUPERSEDED_TEXT, "Good"):
        assert secret.split()[-1] not in texts


def test_queue_says_how_many_are_with_the_safeguarding_lead(rt, seed):
    page = _queue(rt, seed)
    assert page.hidden == 2
    assert review.hidden_phrase(2) == "2 answers are with the safeguarding lead."
    assert review.hidden_phrase(1) == "1 answer is with the safeguarding lead."
    assert _queue(rt, seed, question="policing.talk").hidden == 1
    assert _queue(rt, seed, question="education.experience").hidden == 0


def test_search_cannot_probe_flagged_answers(rt, seed):
    page = _queue(rt, seed, q="FLAGMARK", status="all")
    assert page.items == () and page.total == 0
    # The placeholder count ignores the search: it must not confirm that the words exist.
    assert page.hidden == _queue(rt, seed, q="no such words at all", status="all").hidden


def test_queue_shows_publishable_text_with_placeholders_marked(rt, seed):
    page = _queue(rt, seed, status="all")
    item = next(i for i in page.items if i.id == seed.ids["school"])
    text = "".join(seg.text for seg in item.segments)
    assert text == "[name] from [school] was sound with me, ring me on [phone]"
    assert [seg.placeholder for seg in item.segments if seg.span is not None] == [
        "[name]",
        "[school]",
        "[phone]",
    ]
    assert "jayden" not in text


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ({"priority": "education"}, {"teacher", "clubs"}),
        ({"question": "policing.talk"}, {"listen", "street"}),
        ({"audience": "parent"}, {"parent"}),
        ({"sentiment": "negative"}, {"street", "teacher"}),
        ({"q": "youth clubs"}, {"clubs"}),
        ({"q": "JAYDEN"}, set()),  # raw words are encrypted: a redacted name is not found
        ({"q": "SOUND WITH"}, {"school"}),  # the redacted text is searched
        ({"q": "[name]"}, {"named", "school", "street", "teacher"}),  # and placeholders
        ({"q": "100%_"}, set()),  # LIKE wildcards are literal
        ({"priority": "policing", "sentiment": "positive"}, {"named", "school", "parent"}),
    ],
)
def test_filters_narrow_the_queue(rt, seed, args, names):
    page = _queue(rt, seed, status="all", **args)
    assert {i.id for i in page.items} == {seed.ids[n] for n in names}
    assert page.total == len(names)


def test_theme_filter_reads_codebook_tags_and_question_themes(rt, seed):
    from surveys.storage.models import AnswerTheme, Theme

    with rt.transaction() as s:
        a = s.get(Answer, seed.ids["listen"])
        a.themes = ["being_listened_to"]
        t = Theme(round_id=seed.round_id, question_id="policing.talk", label="x", key_phrases=[])
        s.add(t)
        s.flush()
        s.add(AnswerTheme(answer_id=seed.ids["street"], theme_id=t.id))
        theme_id = t.id
    assert {i.id for i in _queue(rt, seed, theme="being_listened_to").items} == {seed.ids["listen"]}
    assert {i.id for i in _queue(rt, seed, theme=f"theme-{theme_id}").items} == {seed.ids["street"]}


def test_malformed_filters_are_dropped_not_trusted():
    f = review.QueueFilter.from_args(
        {
            "priority": "x' OR 1=1",
            "theme": '%"',
            "status": "bad",
            "sentiment": "angry",
            "q": "  two   words ",
        }
    )
    assert (f.priority, f.theme, f.status, f.sentiment, f.search) == (
        "",
        "",
        "pending",
        "",
        "two words",
    )


def test_status_tabs_count_and_filter(rt, seed):
    with rt.transaction() as s:
        rnd = _round(s, seed)
        review.decide([review.get_answer(s, rnd, seed.ids["named"])], "approve", None)
        review.decide([review.get_answer(s, rnd, seed.ids["street"])], "reject", None)
        review.decide([review.get_answer(s, rnd, seed.ids["school"])], "quote", None)
    page = _queue(rt, seed)
    assert page.status_counts == {"pending": 5, "approved": 2, "rejected": 1, "quotes": 1, "all": 8}
    assert {i.id for i in _queue(rt, seed, status="quotes").items} == {seed.ids["school"]}
    assert page.total == 5


def test_keyset_pages_walk_forward_and_back_without_gaps(rt):
    seed = build_review_round(rt, extra_written=23)
    with rt.transaction() as s:
        rnd = _round(s, seed)
        f = review.QueueFilter.from_args({})
        seen, after = [], None
        pages = []
        while True:
            page = review.queue(s, rnd, f, after=after, page_size=10)
            pages.append(page)
            seen += [i.id for i in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert len(seen) == len(set(seen)) == 31 and seen == sorted(seen)
        back = review.queue(s, rnd, f, before=pages[2].prev_before, page_size=10)
        assert [i.id for i in back.items] == [i.id for i in pages[1].items]
        assert back.prev_before == pages[1].prev_before


def test_answers_of_another_round_flagged_or_superseded_are_not_reviewable(rt, seed):
    with rt.transaction() as s:
        rnd = _round(s, seed)
        for name in ("other", "flagged", "cased", "superseded"):
            with pytest.raises(review.NotReviewable):
                review.get_answer(s, rnd, seed.ids[name])
        with pytest.raises(review.NotReviewable):
            review.get_answers(s, rnd, [seed.ids["named"], seed.ids["other"]])


# ---- decisions ----------------------------------------------------------------------------
def _reviewer(rt) -> int:
    from surveys.services.accounts import upsert_user

    with rt.transaction() as s:
        return upsert_user(
            s, "reviewer@yjs.example.org", "correct horse battery staple", role="reviewer"
        ).id


def test_decisions_record_who_and_when(rt, seed):
    uid = _reviewer(rt)
    with rt.transaction() as s:
        rnd = _round(s, seed)
        a = review.get_answer(s, rnd, seed.ids["named"])
        review.decide([a], "quote", uid)
        assert (a.review_status, a.is_quote, a.reviewed_by) == ("approved", True, uid)
        assert a.reviewed_at is not None
        review.decide([a], "reject", None)
        assert (a.review_status, a.is_quote) == ("rejected", False)
        review.decide([a], "reset", None)
        assert (a.review_status, a.reviewed_at) == ("pending", None)
        with pytest.raises(review.ReviewError):
            review.decide([a], "delete", None)


def test_bulk_decision_applies_to_every_selected_answer(rt, seed):
    ids = [seed.ids["named"], seed.ids["listen"], seed.ids["clubs"]]
    with rt.transaction() as s:
        rnd = _round(s, seed)
        assert review.decide(review.get_answers(s, rnd, ids), "approve", None) == 3
    with rt.transaction() as s:
        statuses = dict(s.execute(select(Answer.id, Answer.review_status)).all())
    assert all(statuses[i] == "approved" for i in ids)
    assert statuses[seed.ids["street"]] == "pending"


def test_approve_unflagged_leaves_flagged_decided_and_other_rounds_alone(rt, seed):
    with rt.transaction() as s:
        rnd = _round(s, seed)
        review.decide([review.get_answer(s, rnd, seed.ids["street"])], "reject", None)
    with rt.transaction() as s:
        result = review.approve_unflagged(s, _round(s, seed), as_quotes=True)
    assert (result.approved, result.quotes, result.hidden) == (7, 7, 2)
    with rt.transaction() as s:
        rows = {a.id: a for a in s.scalars(select(Answer))}
    assert rows[seed.ids["street"]].review_status == "rejected"
    for name in ("flagged", "cased", "other", "superseded"):
        assert rows[seed.ids[name]].review_status == "pending"
        assert not rows[seed.ids[name]].is_quote
    assert rows[seed.ids["named"]].is_quote and rows[seed.ids["named"]].review_status == "approved"
    with rt.transaction() as s:  # twice is harmless
        assert review.approve_unflagged(s, _round(s, seed)).approved == 0


# ---- quotes -------------------------------------------------------------------------------
def test_quote_edit_keeps_the_redacted_text_and_records_who(rt, seed):
    uid = _reviewer(rt)
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["named"])
        result = review.use_as_quote(a, uid, "[name] was alright with me at the station.")
        assert result.saved
        assert a.quote_text == "[name] was alright with me at the station."
        assert a.redacted == "[name] was alright with me at the station"
        assert (a.is_quote, a.review_status, a.reviewed_by) == (True, "approved", uid)
        assert a.reviewed_at is not None
        assert a.publishable_text == a.quote_text


def test_quote_edit_that_brings_back_a_redacted_name_is_held_until_confirmed(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["named"])
        draft = "PC Dave Smith was alright with me"
        result = review.use_as_quote(a, None, draft)
        assert not result.saved and a.quote_text is None and not a.is_quote
        assert result.check.reintroduced == ("PC Dave Smith",)
        assert "brings back “PC Dave Smith”" in result.check.warnings[0]
        assert review.use_as_quote(a, None, draft, confirmed=True).saved
        assert review.quote_still_identifies(a) == ("PC Dave Smith",)


def test_quote_edit_warns_about_new_identifiers_and_heavy_rewrites(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["listen"])
        check = review.check_quote_edit(a, "the police need to listen, text 07700 900456")
        assert any("phone number" in w for w in check.warnings)
        check = review.check_quote_edit(a, "Everything about the service was brilliant.")
        assert any("changes much" in w for w in check.warnings)
        assert review.check_quote_edit(a, "The police need to listen to young people more.").ok


def test_quote_without_edit_uses_the_redacted_text(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["school"])
        assert review.use_as_quote(a, None, "  " + a.redacted + "\n").saved
        assert a.quote_text is None and a.is_quote
        with pytest.raises(review.ReviewError):
            review.use_as_quote(a, None, "x" * 2001)


# ---- overrides ---------------------------------------------------------------------------
def test_overrides_and_putting_the_engine_value_back(rt, seed, catalogue):
    prios = catalogue.keys
    codes = ["being_listened_to", "respect"]
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["listen"])
        review.set_tags(
            a,
            sentiment="negative",
            priority="prevention",
            themes=["respect"],
            priorities=prios,
            codebook=codes,
        )
        assert (a.effective_sentiment, a.effective_priority, a.themes) == (
            "negative",
            "prevention",
            ["respect"],
        )
        review.set_tags(a, sentiment="", priority="", priorities=prios)
        assert (a.sentiment_override, a.priority_override) == (None, None)
        review.set_tags(a, sentiment="neutral", priority="policing", priorities=prios)
        assert (a.sentiment_override, a.priority_override) == (None, None)  # same as engine
        for bad in ({"sentiment": "furious"}, {"priority": "nonsense"}, {"themes": ["not_a_code"]}):
            with pytest.raises(review.ReviewError):
                review.set_tags(a, priorities=prios, codebook=codes, **bad)


# ---- redactions ---------------------------------------------------------------------------
def test_undo_and_redo_a_redaction_rerender_the_published_text(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["school"])
        review.undo_redaction(a, 1)  # "Oakfield Academy"
        assert a.redacted == "[name] from Oakfield Academy was sound with me, ring me on [phone]"
        assert review.span_dicts(a)[1]["undone"] is True
        review.redo_redaction(a, 1)
        assert a.redacted == "[name] from [school] was sound with me, ring me on [phone]"
        with pytest.raises(review.ReviewError):
            review.undo_redaction(a, 9)
    with rt.transaction() as s:  # stored, not just in memory
        a = s.get(Answer, seed.ids["school"])
        assert a.redacted == "[name] from [school] was sound with me, ring me on [phone]"
        assert len(a.redactions) == 3


def test_redact_this_too_hides_every_occurrence_consistently(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["teacher"])
        assert review.redact_too(a, "rubbish", "name", 5) == 1
        assert a.redacted == "school was [name 2] but [name] helped me"
        added = review.span_dicts(a)[0]
        assert (added["source"], added["by"], added["original"]) == ("reviewer", 5, "rubbish")
        assert added["accepted"] is True
        with pytest.raises(review.ReviewError):
            review.redact_too(a, "rubbish", "name", 5)  # already hidden
        with pytest.raises(review.ReviewError):
            review.redact_too(a, "not in the answer", "name", 5)
        with pytest.raises(review.ReviewError):
            review.redact_too(a, "school", "bogus", 5)
        # Undo it, then redact it again: replaced, not doubled.
        review.undo_redaction(a, 0)
        assert a.redacted == "school was rubbish but [name] helped me"
        review.redact_too(a, "RUBBISH", "place", 5)
        assert a.redacted == "school was [place] but [name] helped me"
        assert len(review.span_dicts(a)) == 2


def test_redact_too_matches_whole_words_and_folded_spaces(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["listen"])
        with pytest.raises(review.ReviewError):
            review.redact_too(a, "lic", "name", None)  # inside "police": not a word
        review.redact_too(a, "young\n people", "place", None)
        assert a.redacted == "the police need to listen to [place] more"


def test_accept_marks_redactions_checked(rt, seed):
    with rt.transaction() as s:
        a = review.get_answer(s, _round(s, seed), seed.ids["school"])
        review.accept_redactions(a, 0)
        assert [bool(d.get("accepted")) for d in review.span_dicts(a)] == [True, False, False]
        review.accept_redactions(a)
        assert all(d.get("accepted") for d in review.span_dicts(a))


def test_segments_show_raw_words_with_redactions_and_undone_ones():
    text = "ask Jo at Elm Street"
    spans = [
        {"start": 4, "end": 6, "category": "name", "original": "Jo", "placeholder": "[name]"},
        {
            "start": 10,
            "end": 20,
            "category": "address",
            "original": "Elm Street",
            "placeholder": "[address]",
            "undone": True,
        },
    ]
    raw = review.raw_segments(text, spans)
    assert [(s.text, s.span, s.undone) for s in raw] == [
        ("ask ", None, False),
        ("Jo", 0, False),
        (" at ", None, False),
        ("Elm Street", 1, True),
    ]
    pub = review.published_segments(text, spans)
    assert "".join(s.text for s in pub) == "ask [name] at Elm Street"


def test_approved_quotes_for_viewers_are_publishable_text_only(rt, seed):
    with rt.transaction() as s:
        rnd = _round(s, seed)
        review.use_as_quote(review.get_answer(s, rnd, seed.ids["school"]), None)
        review.decide([review.get_answer(s, rnd, seed.ids["named"])], "approve", None)
    with rt.transaction() as s:
        items, more, total = review.quotes(s, _round(s, seed))
    assert total == 1 and more is None
    assert [q.text for q in items] == ["[name] from [school] was sound with me, ring me on [phone]"]


# ---- the command line ---------------------------------------------------------------------
@pytest.fixture
def review_cli(db_url, tmp_path, monkeypatch):
    """Return a function running ``yjvoice review ARGS`` against the test database."""
    import click
    from click.testing import CliRunner

    from tests.conftest import TEST_SECRET
    from yjvoice import cli_review

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path / "instance"))
    group = click.Group("yjvoice")
    cli_review.register(group)

    def run(*args):
        return CliRunner().invoke(group, ["review", *args], catch_exceptions=False)

    return run


def test_cli_approves_unflagged_answers_and_leaves_flagged_alone(rt, seed, review_cli):
    dry = review_cli("--round", seed.code.lower(), "--approve-unflagged", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would approve 8 answers" in dry.output
    assert "2 answers are with the safeguarding lead" in dry.output
    with rt.transaction() as s:
        assert s.get(Answer, seed.ids["named"]).review_status == "pending"
    res = review_cli("--round", seed.code, "--approve-unflagged", "--as-quotes")
    assert res.exit_code == 0, res.output
    assert f"Approved 8 answers in round {seed.code} (8 chosen as quotes)" in res.output
    with rt.transaction() as s:
        rows = {a.id: a for a in s.scalars(select(Answer))}
    assert rows[seed.ids["named"]].review_status == "approved"
    assert rows[seed.ids["named"]].is_quote
    for name in ("flagged", "cased", "other"):
        assert rows[seed.ids[name]].review_status == "pending"
    again = review_cli("--round", seed.code, "--approve-unflagged")
    assert "Approved 0 answers" in again.output


def test_cli_explains_mistakes(rt, seed, review_cli):
    res = review_cli("--round", "NOSUCH", "--approve-unflagged")
    assert res.exit_code != 0 and "no round has the code 'NOSUCH'" in res.output
    res = review_cli("--round", seed.code)
    assert res.exit_code != 0 and "--approve-unflagged" in res.output
