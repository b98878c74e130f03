"""The builder's live checks: the banks' own reading rules, word counts, one idea, SMS parts.

Pure: no database.
"""

from __future__ import annotations

import pytest

from sms import render
from surveys.core import engine, sms_text, wording
from surveys.core.catalogue import default_catalogue


def _replies():
    catalogue = default_catalogue()
    survey = engine.Survey("T", ("child", "parent", "staff"), catalogue.priority_keys, catalogue)
    for aud in survey.audiences:
        for q in survey.questions(aud):
            state = engine.State(stage="question", audience=aud, current=q.id, lang="en")
            yield engine.render(survey, state)[0]


def test_the_builder_counts_a_text_as_the_sms_adapter_words_it():
    for reply in _replies():
        labels = [label for _, label in reply.choices]
        assert wording.sms_question(reply.text, reply.help, labels, reply.progress) == (
            render.question(reply)
        ), reply.question_id


def test_a_plain_question_passes_and_is_measured():
    report = wording.report("Do you feel safe round here?", audience="child")
    text = report.measures[0]
    assert text.words == 6 and text.grade is not None and text.grade <= wording.MAX_GRADE
    assert text.advice == () and report.problems == () and report.advice == ()
    assert report.sms_parts == 1 and report.sms_encoding == "GSM-7"


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("Notwithstanding institutional considerations, characterise your experiences.", "grade"),
        ("Is it good? Is it bad?", "question marks"),
        ("How was school and what would you change about it?", "two things at once"),
        ("What helped your resettlement?", "jargon"),
        ("How can we help children like you?", "young people"),
        (" ".join(["very"] * 25) + " good?", "words > 20"),
    ],
)
def test_the_banks_rules_are_advice_while_typing(text, advice):
    found = wording.report(text, audience="child").measures[0].advice
    assert any(advice in a for a in found), found


def test_a_300_word_question_is_refused_not_advised():
    text = " ".join(["word"] * 300)
    report = wording.report(text, audience="parent")
    assert report.problems == ("text: has 300 words: at most 50 (aim for 20 or fewer)",)


def test_empty_wording_is_refused():
    assert wording.report("  ", audience="child").problems == ("text: is empty",)


def test_remand_needs_a_help_line():
    bare = wording.report("Have you ever been remanded?", audience="child")
    assert any("help line" in a for a in bare.advice)
    helped = wording.report(
        "Have you ever been remanded?",
        audience="child",
        help_line="It means you had to stay away from home.",
    )
    assert not any("help line" in a for a in helped.advice)


def test_welsh_is_counted_but_not_graded():
    report = wording.report("Beth ddylen ni alw'r gwasanaeth ŵyr?", audience="child", lang="cy")
    assert report.measures[0].grade is None and report.measures[0].words == 6
    assert report.sms_encoding == "UCS-2"


def test_a_long_question_with_many_answers_costs_more_parts():
    labels = [(f"o{i}", "A rather long answer to choose from, with more words") for i in range(6)]
    report = wording.report("Which of these do you like most?", audience="child", labels=labels)
    assert report.sms_parts == sms_text.parts(
        wording.sms_question(
            "Which of these do you like most?", None, [label for _, label in labels]
        )
    )
    assert report.sms_parts > wording.MAX_SMS_PARTS["en"]
    assert any("text message" in a for a in report.advice)
