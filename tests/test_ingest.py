"""Every stored answer is redacted and checked against the lexicon in the same transaction,
and read by the recall net and heads just after (here at once: the queue's immediate mode)."""

import csv
import io

import pytest
from sqlalchemy import select

from surveys.core import engine
from surveys.export.answers import write_csv
from surveys.services import conversation
from surveys.services.exporting import all_answer_rows
from surveys.storage import store
from surveys.storage.models import Answer, SafeguardingCase

pytestmark = pytest.mark.usefixtures("jobs_immediate")

DANGER = "In danger now? Call 999. Childline: 0800 1111 (free, any time)."


def _start(rt, code):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="child")
        return resp.id


def _send(rt, rid, key, **kw):
    with rt.transaction() as s:
        return conversation.apply(s, rt.context, rid, engine.Inbound(**kw), key=key)


def _first_question(rt, code):
    rid = _start(rt, code)
    _send(rt, rid, "consent", choice="yes")
    return rid


def test_text_answer_is_stored_with_its_analysis(rt, open_round):
    rid = _first_question(rt, open_round)
    out = _send(rt, rid, "a1", text="my mate jayden got stopped by the police, they was rude")
    assert out.stored == 1 and not out.flagged
    with rt.transaction() as s:
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid))
        assert a.text.startswith("my mate jayden")  # as given
        assert "jayden" not in a.redacted and "[name]" in a.redacted
        assert a.redactions and a.redactions[0]["original"] == "jayden"
        assert a.sentiment in ("positive", "neutral", "negative")
        assert a.priority_guess == "policing" and a.priority_confidence > 0
        assert isinstance(a.themes, list)
        assert a.flagged is False and a.review_status == "pending"


def test_disclosure_opens_a_case_and_shows_help_in_the_same_turn(rt, open_round):
    rid = _first_question(rt, open_round)
    out = _send(rt, rid, "a1", text="my stepdad hits me when he is drunk")
    assert out.flagged and out.stored == 1
    assert out.replies[0].stage == "disclosure" and DANGER in out.replies[0].text
    assert out.replies[-1].kind == "prompt"  # and the conversation carries on
    with rt.transaction() as s:
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid))
        case = s.scalar(select(SafeguardingCase).where(SafeguardingCase.answer_id == a.id))
        assert a.flagged and a.flag_categories
        assert case is not None and case.status == "new" and case.categories == a.flag_categories


def test_hard_flag_case_records_its_tier_and_the_words_that_matched(rt, open_round):
    rid = _first_question(rt, open_round)
    text = "school is ok. my stepdad hits me when he is drunk"
    _send(rt, rid, "a1", text=text)
    with rt.transaction() as s:
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid))
        case = s.scalar(select(SafeguardingCase).where(SafeguardingCase.answer_id == a.id))
        assert a.flag_tier == case.tier == "flag"
        assert any(text[x:y] == "my stepdad hits me" for x, y in case.trigger_spans)


def test_possible_concern_opens_a_case_but_shows_only_the_footer_help(rt, open_round):
    rid = _first_question(rt, open_round)
    text = "the man at the shop gives me free stuff and says its our secret"
    out = _send(rt, rid, "a1", text=text)
    assert out.stored == 1 and not out.flagged  # no help page in this turn: the footer has it
    assert all(r.stage != "disclosure" for r in out.replies)
    with rt.transaction() as s:
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid))
        case = s.scalar(select(SafeguardingCase).where(SafeguardingCase.answer_id == a.id))
        assert a.flagged and a.flag_tier == "possible" and 0 < a.flag_score <= 1
        assert case.tier == "possible" and case.score == a.flag_score and case.categories
        [(x, y)] = case.trigger_spans
        assert 0 <= x < y <= len(text)


def test_an_answer_in_welsh_is_not_passed_as_ok(rt, open_round):
    rid = _first_question(rt, open_round)
    _send(rt, rid, "a1", text="Dw i ddim yn hoffi ysgol, mae o yn ddiflas")
    with rt.transaction() as s:
        a = s.scalar(select(Answer).where(Answer.respondent_id == rid))
        case = s.scalar(select(SafeguardingCase).where(SafeguardingCase.answer_id == a.id))
        assert a.flagged and case.tier == "possible"
        assert case.categories == ["not_read_automatically"]


def test_a_duplicate_disclosure_opens_one_case(rt, open_round):
    rid = _first_question(rt, open_round)
    _send(rt, rid, "same", text="i want to kms")
    again = _send(rt, rid, "same", text="i want to kms")
    assert again.duplicate
    with rt.transaction() as s:
        assert len(s.scalars(select(SafeguardingCase)).all()) == 1


def test_a_tapped_rating_needs_no_reading(rt, open_round):
    from surveys.analysis.pipeline import analyse

    assert analyse("Very good", choice="very_good").sentiment == "positive"
    assert analyse("Poor", choice="poor").sentiment == "negative"
    yes = analyse("Yes", choice="yes")
    assert yes.redacted == "Yes" and yes.sentiment is None and not yes.flagged


def test_csv_export_carries_the_analysis_columns(rt, open_round):
    rid = _first_question(rt, open_round)
    _send(rt, rid, "a1", text="ring me on 07700 900123 the police were fair")
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        buf = io.StringIO()
        write_csv(all_answer_rows(s, rnd, rt.catalogue), buf)
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert "[phone]" in row["answer_redacted"] and "07700" not in row["answer_redacted"]
    for col in ("sentiment", "priority_guess", "themes", "flagged"):
        assert col in row
    assert row["flagged"] == "no"
