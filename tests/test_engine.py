"""The conversation engine's promises, on plain values (no database, no channel)."""

from dataclasses import replace

import pytest
import textstat
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.core import engine
from surveys.core.catalogue import default_catalogue
from surveys.core.engine import Inbound, State, Survey, begin, step
from surveys.core.vocabulary import AUDIENCES

DANGER = "In danger now? Call 999. Childline: 0800 1111 (free, any time)."
CAT = default_catalogue()


def survey(priorities=("policing", "remands"), audiences=AUDIENCES):
    return Survey("Test round", tuple(audiences), tuple(priorities), CAT)


def answer_until_questions(sv, audience="child"):
    res = begin(sv, audience=audience)
    res = step(sv, res.state, Inbound(choice="yes"))
    assert res.state.stage == "question"
    return res


def prompt(res):
    return [r for r in res.replies if r.kind == "prompt"][-1]


def test_fixed_audience_goes_straight_to_consent():
    res = begin(survey(), audience="child")
    assert res.state.stage == "consent" and res.state.audience == "child"
    consent = prompt(res)
    assert "anonymous" in consent.text.lower() or "private" in consent.text.lower()
    assert "danger" in consent.text and "skip" in consent.text and "stop" in consent.text
    assert DANGER in consent.text


def test_audience_is_asked_when_the_invite_does_not_fix_it():
    sv = survey()
    res = begin(sv)
    assert res.state.stage == "audience"
    assert [k for k, _ in prompt(res).choices] == list(AUDIENCES)
    res = step(sv, res.state, Inbound(choice="parent"))
    assert res.state.stage == "consent" and res.state.audience == "parent"


def test_single_audience_round_needs_no_audience_question():
    res = begin(survey(audiences=("staff",)))
    assert res.state.stage == "consent" and res.state.audience == "staff"


def test_typed_number_picks_an_audience():
    sv = survey()
    res = step(sv, begin(sv).state, Inbound(text="2"))
    assert res.state.audience == "parent"


def test_child_and_parent_get_their_own_wording():
    child = prompt(answer_until_questions(survey(), "child"))
    parent = prompt(answer_until_questions(survey(), "parent"))
    assert child.question_id == parent.question_id
    assert child.text != parent.text


def test_declining_consent_pauses_and_can_resume():
    sv = survey()
    res = begin(sv, audience="child")
    res = step(sv, res.state, Inbound(choice="no"))
    assert res.state.paused and DANGER in res.replies[-1].text
    res = step(sv, res.state, Inbound(text="hi"))
    assert not res.state.paused and prompt(res).stage == "consent"


def test_text_answer_is_recorded_and_the_next_question_asked():
    sv = survey()
    res = answer_until_questions(sv)
    first = prompt(res)
    res = step(sv, res.state, Inbound(text="  they was fair with me  "))
    assert res.answers == (
        engine.AnswerEvent(first.question_id, "policing", "they was fair with me"),
    )
    assert prompt(res).question_id != first.question_id
    assert res.state.answers[first.question_id] == "*"  # the words are not kept in state


def test_choice_answer_records_key_and_label():
    sv = survey()
    res = answer_until_questions(sv)
    while not prompt(res).choices:
        res = step(sv, res.state, Inbound(command="skip"))
    q = prompt(res)
    key, label = q.choices[0]
    res = step(sv, res.state, Inbound(choice=key, question_id=q.question_id))
    assert res.answers[0].choice == key and res.answers[0].text == label


def test_invalid_choice_is_refused_with_a_kind_message():
    sv = survey()
    res = answer_until_questions(sv)
    while not prompt(res).choices:
        res = step(sv, res.state, Inbound(command="skip"))
    before = res.state
    res = step(sv, before, Inbound(choice="not-an-option"))
    assert res.state == before and not res.answers
    assert res.replies[0].kind == "error"


def test_answer_to_a_question_not_asked_is_refused():
    sv = survey()
    res = answer_until_questions(sv)
    before = res.state
    res = step(sv, before, Inbound(text="hello", question_id="remands.experience"))
    assert res.state == before and not res.answers and res.replies[0].kind == "error"


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02", "\u200b" * 0 + "\n\n"])
def test_empty_answer_gets_a_message_not_a_record(text):
    sv = survey()
    res = answer_until_questions(sv)
    out = step(sv, res.state, Inbound(text=text))
    assert out.state == res.state and not out.answers and out.replies[0].kind == "error"


def test_overlong_answer_gets_a_friendly_message():
    sv = survey()
    res = answer_until_questions(sv)
    out = step(sv, res.state, Inbound(text="a" * 10_000))
    assert not out.answers and out.state == res.state
    assert "2,000" in out.replies[0].text


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "مرحبا بالعالم",
        "😀🔥💯",
        "a\u202eb",
        "line one\r\nline two\tend",
    ],
)
def test_unusual_text_is_kept_safely(text):
    sv = survey()
    res = answer_until_questions(sv)
    out = step(sv, res.state, Inbound(text=text))
    assert len(out.answers) == 1
    stored = out.answers[0].text
    assert "\r" not in stored and "\x00" not in stored


def test_control_characters_are_removed():
    assert engine.clean_text("hi\x00 there\x07\x1b") == "hi there"
    assert engine.clean_text("\ud800bad") == "bad"


def test_skip_back_and_stop_work_at_any_question():
    sv = survey()
    res = answer_until_questions(sv)
    q1 = prompt(res).question_id
    res = step(sv, res.state, Inbound(text="skip"))
    q2 = prompt(res).question_id
    assert res.state.answers[q1] is None and q2 != q1
    res = step(sv, res.state, Inbound(text="back"))
    assert prompt(res).question_id == q1
    res = step(sv, res.state, Inbound(text="STOP"))
    assert res.state.paused and DANGER in res.replies[-1].text
    res = step(sv, res.state, Inbound(text="hello again"))
    assert not res.state.paused and prompt(res).question_id == q1
    assert not res.answers  # resuming is not an answer


def test_back_at_first_question_explains():
    sv = survey()
    res = answer_until_questions(sv)
    out = step(sv, res.state, Inbound(command="back"))
    assert prompt(out).question_id == prompt(res).question_id
    assert out.replies[0].kind == "info"


def test_help_shows_the_danger_line_and_changes_nothing():
    sv = survey()
    res = answer_until_questions(sv)
    out = step(sv, res.state, Inbound(text="help"))
    assert out.state == res.state and DANGER in out.replies[0].text
    assert prompt(out).question_id == prompt(res).question_id


def test_remand_questions_only_after_saying_yes_to_remand():
    sv = survey(priorities=("remands",))
    res = answer_until_questions(sv)
    screen = prompt(res)
    assert [k for k, _ in screen.choices][:2] == ["yes", "no"]
    screened = {
        q.id
        for q in sv.questions("child")
        if q.show_if and q.show_if.question == screen.question_id
    }
    assert screened
    no = step(sv, res.state, Inbound(choice="no"))
    yes = step(sv, res.state, Inbound(choice="yes"))
    assert prompt(no).question_id not in screened
    assert prompt(yes).question_id in screened


def test_changing_a_screening_answer_retracts_answers_that_no_longer_apply():
    sv = survey(priorities=("remands",))
    res = answer_until_questions(sv)
    screen = prompt(res).question_id
    res = step(sv, res.state, Inbound(choice="yes"))
    follow = prompt(res).question_id
    res = step(sv, res.state, Inbound(text="it was scary"))
    # go back to the screening question and change the answer
    res = step(sv, res.state, Inbound(command="back"))
    res = step(sv, res.state, Inbound(command="back"))
    assert prompt(res).question_id == screen
    res = step(sv, res.state, Inbound(choice="no"))
    assert follow in res.retracted and follow not in res.state.answers


def test_finishing_gives_thanks_withdrawal_code_and_danger_line():
    sv = survey(priorities=("policing",), audiences=("child",))
    res = answer_until_questions(sv)
    for _ in range(100):
        if res.state.stage == "done":
            break
        res = step(sv, res.state, Inbound(command="skip"), withdrawal_code="ABCD-EFGH")
    assert res.completed and res.state.stage == "done"
    last = res.replies[-1].text
    assert "ABCD-EFGH" in last and DANGER in last
    again = step(sv, res.state, Inbound(text="more"))
    assert again.state == res.state and not again.answers


def test_progress_counts_up():
    sv = survey(priorities=("policing",))
    res = answer_until_questions(sv)
    n1, total = prompt(res).progress
    res = step(sv, res.state, Inbound(command="skip"))
    n2, total2 = prompt(res).progress
    assert (n1, n2) == (1, 2) and total >= 2 and total2 >= 2


def test_media_gets_please_type_and_stores_nothing():
    sv = survey()
    res = answer_until_questions(sv)
    out = step(sv, res.state, Inbound(media=True))
    assert out.state == res.state and not out.answers
    assert "type" in out.replies[0].text.lower()


def test_state_round_trips_through_a_dict():
    sv = survey()
    res = answer_until_questions(sv)
    res = step(sv, res.state, Inbound(text="hello"))
    assert State.from_dict(res.state.to_dict()) == res.state


def test_a_stale_state_from_a_changed_bank_carries_on():
    sv = survey()
    res = answer_until_questions(sv)
    broken = replace(res.state, current="policing.gone_from_the_bank")
    out = step(sv, broken, Inbound(text="hello"))
    assert out.state.stage in ("question", "done")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(Inbound, text=st.text(max_size=50)),
            st.builds(Inbound, choice=st.sampled_from(["yes", "no", "child", "good", "x", ""])),
            st.builds(Inbound, command=st.sampled_from(["help", "skip", "back", "stop", "start"])),
            st.just(Inbound(media=True)),
        ),
        max_size=40,
    )
)
def test_any_sequence_of_inputs_keeps_the_engine_consistent(inputs):
    sv = survey()
    res = begin(sv)
    for inbound in inputs:
        out = step(sv, res.state, inbound, withdrawal_code="WXYZ-1234")
        assert out.replies, "every input gets a reply"
        assert out.state.version >= res.state.version
        if out.state.stage == "question":
            assert out.state.current in {q.id for q in sv.questions(out.state.audience)}
        for ev in out.answers:
            assert ev.text and len(ev.text) <= 2000
        res = out


CHILD_TEXTS = [
    "welcome",
    "consent",
    "help",
    "stopped",
    "thanks",
    "pick_one",
    "empty_answer",
    "too_long",
    "media",
    "declined",
    "stale",
    "going_back",
    "first_question",
]


@pytest.mark.parametrize("name", CHILD_TEXTS)
def test_child_wording_is_plain(name):
    text = engine.default_texts().get(
        name,
        "child",
        title="the youth justice survey",
        code="ABCD-EFGH",
        limit="2,000",
        length="3,000",
    )
    for sentence in [s for s in text.replace("!", ".").replace("?", ".").split(".") if s.strip()]:
        assert len(sentence.split()) <= 20, sentence
    assert textstat.flesch_kincaid_grade(text) <= 6, text
