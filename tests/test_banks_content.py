"""Content tests for the packaged question banks: plain wording, coverage, safe screening.

The checkers live in ``surveys.core.wording`` (the workbench's question builder runs the
same ones as a lead types): textstat 0.7.8's Flesch-Kincaid grade 6 for young people, two
syllables at most for a one-word label, 20 words, one question mark, no jargon, and nothing
about ethnicity or gender outside an optional screening question.

Each checker is a plain function returning a list of problems, run once against the
packaged banks and once against deliberately bad input, so every rule is shown to fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import textstat
import yaml

from surveys.core.catalogue import BankError, Catalogue, load_catalogue
from surveys.core.vocabulary import AUDIENCES
from surveys.core.wording import (
    child_texts,
    child_wording_problems,
    is_screening,
    readability_problems,
    refusal_keys,
    sensitive_problems,
    words,
)

CATALOGUE = load_catalogue()
PRIORITY_TITLES = {
    "over_represented_groups": "Children from groups which are over-represented",
    "policing": "Policing",
    "prevention": "Prevention",
    "diversion": "Diversion",
    "education": "Education",
    "restorative_approaches_and_victims": "Restorative approaches and victims",
    "serious_violence_and_exploitation": (
        "Serious violence, exploitation and contextual safeguarding"
    ),
    "detention_in_police_custody": "Detention in police custody",
    "remands": "Remands",
    "use_of_custody_and_resettlement": "Use of custody and constructive resettlement",
    "working_with_families": "Working with families",
}
PLACEHOLDER = re.compile(r"[\[\]{}]|\barea\]")


def wording_gaps(catalogue: Catalogue) -> list[str]:
    """Return every audience/question pair with empty wording or an option label missing."""
    gaps = []
    for bank in catalogue.banks:
        for q in bank.questions:
            for aud in q.audiences:
                if not (q.text_for(aud) or "").strip():
                    gaps.append(f"{q.id}: empty text for {aud}")
                for o in q.choices():
                    label = o.label(aud)
                    # Option.label falls back to the bare key when no label fits the audience
                    if not label.strip() or (label == o.key and o.key not in o.labels.values()):
                        gaps.append(f"{q.id}: option {o.key!r} has no label for {aud}")
                help_line = q.help_for(aud)
                if help_line is not None and not help_line.strip():
                    gaps.append(f"{q.id}: empty help for {aud}")
    return gaps


def write_catalogue(folder: Path, questions: list[dict]) -> Catalogue:
    """Write one throwaway bank and return it loaded (for showing a checker can fail)."""
    bank = {"key": "t", "title": "T", "order": 1, "description": "Test.", "questions": questions}
    (folder / "t.yaml").write_text(yaml.safe_dump(bank, sort_keys=False), encoding="utf-8")
    return load_catalogue(folder)


CHILD_QUESTIONS = [q for b in CATALOGUE.banks for q in b.questions if q.text_for("child")]
PRIORITY_BANKS = [b for b in CATALOGUE.banks if b.key != "general"]


# --------------------------------------------------------------------------- readability


@pytest.mark.parametrize("q", CHILD_QUESTIONS, ids=lambda q: q.id)
def test_child_wording_is_plain(q):
    assert child_wording_problems(q) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "Notwithstanding institutional considerations, characterise your experiences.",
            "Flesch-Kincaid",
        ),
        ("Sometimes", None),
        ("Unfortunately", "syllables"),
        (
            "Do you like it here and do you think the staff here are kind to you and "
            "do you feel safe?",
            "words",
        ),
        ("Is it good? Is it bad?", "question marks"),
        ("Do you feel safe round here?", None),
        ("I'd rather not say", None),
    ],
)
def test_readability_checker_catches_hard_text(text, problem):
    found = readability_problems(text)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


def test_child_wording_checker_catches_children_jargon_and_missing_help(tmp_path):
    catalogue = write_catalogue(
        tmp_path,
        [
            {"id": "t.a", "type": "text", "text": {"child": "How can we help children?"}},
            {"id": "t.b", "type": "text", "text": {"child": "What helped your resettlement?"}},
            {"id": "t.c", "type": "yesno", "text": {"child": "Have you ever been remanded?"}},
            {
                "id": "t.d",
                "type": "yesno",
                "text": {"child": "Have you ever been remanded?"},
                "help": {"child": "It means you had to stay away from home."},
            },
        ],
    )
    assert any("says 'child'" in p for p in child_wording_problems(catalogue.question("t.a")))
    assert any("jargon" in p for p in child_wording_problems(catalogue.question("t.b")))
    assert any("help line" in p for p in child_wording_problems(catalogue.question("t.c")))
    assert child_wording_problems(catalogue.question("t.d")) == []


def test_child_wording_covers_fixed_rating_labels():
    # The engine's rating labels are read by young people too; 'OK' is two syllables.
    rating = next(q for q in CHILD_QUESTIONS if q.type == "rating")
    labels = [t for what, t in child_texts(rating) if what.startswith("option")]
    assert labels == ["Very good", "Good", "OK", "Poor"]


# --------------------------------------------------------------------------- coverage


def test_every_question_has_wording_for_every_audience_it_is_asked_of():
    assert wording_gaps(CATALOGUE) == []


def test_loader_refuses_an_option_missing_a_label_for_an_audience_asked(tmp_path):
    with pytest.raises(BankError, match="option 'x' has no label for \\['parent'\\]"):
        write_catalogue(
            tmp_path,
            [
                {
                    "id": "t.a",
                    "type": "choice",
                    "text": {"child": "Pick?", "parent": "Pick?"},
                    "options": [{"key": "x", "label": {"child": "X"}}, {"key": "y", "label": "Y"}],
                },
            ],
        )


@pytest.mark.parametrize("bank", PRIORITY_BANKS, ids=lambda b: b.key)
def test_priority_bank_asks_young_people_parents_and_staff(bank):
    audiences = {a for q in bank.questions for a in q.audiences}
    assert {"child", "staff", "partner", "parent"} <= audiences, sorted(audiences)


@pytest.mark.parametrize("bank", PRIORITY_BANKS, ids=lambda b: b.key)
def test_priority_bank_size_and_title(bank):
    assert 3 <= len(bank.questions) <= 8, len(bank.questions)
    for aud in AUDIENCES:
        assert len([q for q in bank.questions if q.text_for(aud)]) <= 8, aud
    assert bank.title == PRIORITY_TITLES[bank.key]


@pytest.mark.parametrize("bank", CATALOGUE.banks, ids=lambda b: b.key)
def test_description_is_one_to_three_sentences_of_real_words(bank):
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", bank.description) if s.strip()]
    assert 1 <= len(sentences) <= 3, sentences
    assert len(words(bank.description)) >= 15
    assert not PLACEHOLDER.search(bank.description)


@pytest.mark.parametrize(
    ("key", "terms"),
    [
        ("over_represented_groups", ["Black", "girls", "in care", "SEND", "fair"]),
        ("policing", ["stop and search", "arrest"]),
        ("prevention", ["youth", "activities", "early help"]),
        ("diversion", ["caution", "Outcome 22", "Turnaround", "out-of-court"]),
        ("education", ["school", "exclu", "PRU", "part-time", "training"]),
        ("restorative_approaches_and_victims", ["sorry", "victim", "reparation"]),
        ("serious_violence_and_exploitation", ["knives", "gangs", "county lines", "groom"]),
        ("detention_in_police_custody", ["police station", "appropriate adult", "overnight"]),
        ("remands", ["remand", "bail", "local authority accommodation"]),
        ("use_of_custody_and_resettlement", ["custody", "release", "resettlement"]),
        ("working_with_families", ["parent", "carer", "parenting"]),
    ],
)
def test_description_uses_the_words_people_use(key, terms):
    description = CATALOGUE.bank(key).description.lower()
    missing = [t for t in terms if t.lower() not in description]
    assert missing == []


def test_no_placeholders_in_any_wording():
    for bank in CATALOGUE.banks:
        for q in bank.questions:
            for aud in q.audiences:
                for text in [
                    q.text_for(aud),
                    q.help_for(aud) or "",
                    *(o.label(aud) for o in q.choices()),
                ]:
                    assert not PLACEHOLDER.search(text or ""), (q.id, aud, text)


def test_choice_questions_offer_two_to_six_answers():
    for bank in CATALOGUE.banks:
        for q in bank.questions:
            if q.type == "choice":
                assert 2 <= len(q.options) <= 6, q.id


def test_young_person_questions_follow_domain_examples():
    c = CATALOGUE
    assert c.question("restorative_approaches_and_victims.say_sorry").audiences == ("child",)
    assert c.question("remands.ever").text_for("child") == "Have you ever been remanded?"
    for qid in ("remands.experience", "remands.improve"):
        cond = c.question(qid).show_if
        assert cond is not None and cond.question == "remands.ever" and cond.values == ("yes",)
        assert "staff" not in c.question(qid).audiences
    families = c.bank("working_with_families")
    parent_qs = [q for q in families.questions if q.text_for("parent")]
    child_qs = [q for q in families.questions if q.text_for("child")]
    assert len(parent_qs) >= 3 and len(parent_qs) > len(child_qs)


def test_general_bank_rating_follow_up_and_open_question():
    general = CATALOGUE.bank("general")
    assert general.order == 99 and CATALOGUE.banks[-1] is general
    rating = CATALOGUE.question("general.rating")
    assert rating.type == "rating"
    assert rating.text_for("parent") == (
        "Thinking back about your contact with the YOT, how would you rate your experience?"
    )
    child, parent = rating.text_for("child"), rating.text_for("parent")
    assert len(words(child)) < len(words(parent))
    assert textstat.flesch_kincaid_grade(child) < textstat.flesch_kincaid_grade(parent)

    why = CATALOGUE.question("general.rating_why")
    assert why.type == "text"
    assert why.show_if is not None and why.show_if.question == "general.rating"
    assert why.show_if.answered
    assert set(why.audiences) == set(rating.audiences)
    ids = [q.id for q in general.questions]
    assert ids.index("general.rating_why") == ids.index("general.rating") + 1

    next_year = CATALOGUE.question("general.next_year")
    assert next_year.type == "text" and next_year.show_if is None
    assert next_year.audiences == AUDIENCES
    assert "work on next year" in next_year.text_for("staff")

    training = CATALOGUE.question("general.training")
    assert set(training.audiences) == {"staff", "partner"}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_audience_gets_general_questions(audience):
    assert CATALOGUE.questions_for([], audience)


# --------------------------------------------------------------------------- sensitive topics


def test_ethnicity_and_gender_questions_are_behind_optional_screening():
    assert sensitive_problems(CATALOGUE) == []


def test_screening_questions_exist_and_offer_rather_not_say():
    screens = [q for b in CATALOGUE.banks for q in b.questions if is_screening(q, "child")]
    assert len(screens) >= 2  # one for Black and mixed-race young people, one for girls
    gated = [
        q
        for b in CATALOGUE.banks
        for q in b.questions
        if q.show_if is not None and q.show_if.question in {s.id for s in screens}
    ]
    assert len(gated) >= 4
    for q in gated:
        assert q.show_if is not None and not q.show_if.answered
        target = CATALOGUE.question(q.show_if.question)
        assert not set(q.show_if.values) & refusal_keys(target, "child"), q.id


@pytest.mark.parametrize(
    ("questions", "offender"),
    [
        ([{"id": "t.a", "type": "text", "text": {"child": "Are you Black?"}}], "t.a"),
        (
            [
                {
                    "id": "t.s",
                    "type": "choice",
                    "text": {"child": "Are you a girl?"},
                    "help": {"child": "You do not have to tell us."},
                    "options": [{"key": "yes", "label": "Yes"}, {"key": "no", "label": "No"}],
                }
            ],
            "t.s",
        ),
        (
            [
                {
                    "id": "t.s",
                    "type": "choice",
                    "text": {"child": "Are you a girl?"},
                    "help": {"child": "You do not have to tell us."},
                    "options": [
                        {"key": "yes", "label": "Yes"},
                        {"key": "rns", "label": "I'd rather not say"},
                    ],
                },
                {
                    "id": "t.a",
                    "type": "text",
                    "text": {"child": "Are girls treated fairly?"},
                    "show_if": {"question": "t.s", "answered": True},
                },
            ],
            "t.a",
        ),
        (
            [
                {
                    "id": "t.s",
                    "type": "choice",
                    "text": {"child": "Are you a girl?"},
                    "help": {"child": "You do not have to tell us."},
                    "options": [
                        {"key": "yes", "label": "Yes"},
                        {"key": "rns", "label": "I'd rather not say"},
                    ],
                },
                {
                    "id": "t.a",
                    "type": "text",
                    "text": {"child": "Are girls treated fairly?"},
                    "show_if": {"question": "t.s", "in": ["yes", "rns"]},
                },
            ],
            "t.a",
        ),
        (
            [
                {
                    "id": "t.s",
                    "type": "choice",
                    "text": {"parent": "Is your child Black?"},
                    "options": [
                        {"key": "yes", "label": "Yes"},
                        {"key": "rns", "label": "I'd rather not say"},
                    ],
                }
            ],
            "t.s",
        ),
    ],
    ids=[
        "unscreened",
        "no_rather_not_say",
        "answered_lets_refusers_in",
        "refusal_value_lets_them_in",
        "not_worded_as_optional",
    ],
)
def test_sensitive_checker_catches_forced_disclosure(tmp_path, questions, offender):
    problems = sensitive_problems(write_catalogue(tmp_path, questions))
    assert any(p.startswith(offender + " ") for p in problems), problems


def test_sensitive_checker_accepts_a_proper_screen_and_chain(tmp_path):
    catalogue = write_catalogue(
        tmp_path,
        [
            {
                "id": "t.s",
                "type": "choice",
                "text": {"child": "The next questions are for girls."},
                "help": {"child": "You can skip them."},
                "options": [
                    {"key": "yes", "label": "Yes"},
                    {"key": "rns", "label": "I'd rather not say"},
                ],
            },
            {
                "id": "t.a",
                "type": "yesno",
                "text": {"child": "Are girls treated fairly?"},
                "show_if": {"question": "t.s", "in": ["yes"]},
            },
            {
                "id": "t.b",
                "type": "text",
                "text": {"child": "Why are girls treated that way?"},
                "show_if": {"question": "t.a", "answered": True},
            },
        ],
    )
    assert sensitive_problems(catalogue) == []
