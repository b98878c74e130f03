"""Unit tests for the question-bank loader and validator (surveys/core/catalogue.py).

Broken banks are written to ``tmp_path`` so each test shows exactly which rule it breaks.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from surveys.core import catalogue as cat

# The national priority keys of the Youth Justice Plan, in the plan's order
# (/work/shared/DOMAIN.md, "National priority areas"); ``general`` always comes last.
PRIORITY_KEYS = (
    "over_represented_groups",
    "policing",
    "prevention",
    "diversion",
    "education",
    "restorative_approaches_and_victims",
    "serious_violence_and_exploitation",
    "detention_in_police_custody",
    "remands",
    "use_of_custody_and_resettlement",
    "working_with_families",
)


# --------------------------------------------------------------------------- helpers


def good_bank(key: str = "alpha", order: int = 1) -> dict[str, Any]:
    """Return a small valid bank: a screening yes/no, a gated follow-up, a choice."""
    return {
        "key": key,
        "title": key.title(),
        "order": order,
        "description": "A small test bank.",
        "questions": [
            {
                "id": f"{key}.screen",
                "type": "yesno",
                "text": {"child": "Have you ever been remanded?", "parent": "Has your child?"},
                "help": {"child": "It means you had to stay away from home."},
            },
            {
                "id": f"{key}.followup",
                "type": "text",
                "show_if": {"question": f"{key}.screen", "in": ["yes"]},
                "text": {"child": "What was it like?", "parent": "What was it like for you?"},
            },
            {
                "id": f"{key}.pick",
                "type": "choice",
                "text": {"child": "Pick one.", "staff": "Pick one, please."},
                "options": [
                    {"key": "one", "label": "One"},
                    {"key": "two", "label": {"child": "Two", "staff": "Two (staff)"}},
                ],
            },
        ],
    }


def write_bank(folder: Path, bank: dict[str, Any], name: str | None = None) -> Path:
    """Write a bank dict as YAML (file named after its key unless ``name`` is given)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{bank['key']}.yaml")
    path.write_text(yaml.safe_dump(bank, sort_keys=False), encoding="utf-8")
    return path


def expect_error(folder: Path, file: str, question: str | None, reason: str) -> cat.BankError:
    """Load ``folder`` and check the BankError names the file, question and reason."""
    with pytest.raises(cat.BankError) as info:
        cat.load_catalogue(folder)
    err = info.value
    assert err.file == file
    assert err.question == question
    assert reason in err.reason
    message = str(err)
    assert file in message
    assert reason in message
    if question:
        assert question in message
    return err


# --------------------------------------------------------------------------- packaged banks


def test_packaged_catalogue_loads_every_priority_in_plan_order():
    catalogue = cat.load_catalogue()
    assert catalogue.keys == (*PRIORITY_KEYS, "general")
    assert catalogue.priority_keys == PRIORITY_KEYS


def test_packaged_orders_are_1_to_11_then_99():
    catalogue = cat.load_catalogue()
    assert [b.order for b in catalogue.banks] == [*range(1, 12), 99]


def test_packaged_bank_sources_match_keys():
    for bank in cat.load_catalogue().banks:
        assert bank.source == f"{bank.key}.yaml"
        assert (cat.BANKS_DIR / bank.source).is_file()


def test_default_catalogue_is_cached_and_matches_a_fresh_load():
    assert cat.default_catalogue() is cat.default_catalogue()
    assert cat.default_catalogue().banks == cat.load_catalogue().banks


def test_packaged_catalogue_lookups():
    catalogue = cat.load_catalogue()
    assert catalogue.bank("remands").title == "Remands"
    assert catalogue.question("remands.ever").priority == "remands"
    with pytest.raises(KeyError):
        catalogue.bank("nope")
    with pytest.raises(KeyError):
        catalogue.question("remands.nope")


# --------------------------------------------------------------------------- loading good banks


def test_small_valid_bank_loads(tmp_path):
    write_bank(tmp_path, good_bank())
    catalogue = cat.load_catalogue(tmp_path)
    bank = catalogue.bank("alpha")
    assert [q.id for q in bank.questions] == ["alpha.screen", "alpha.followup", "alpha.pick"]
    follow = catalogue.question("alpha.followup")
    assert follow.show_if == cat.Condition("alpha.screen", ("yes",))
    assert follow.max_length == cat.DEFAULT_MAX_LENGTH
    assert bank.source == "alpha.yaml"


def test_banks_are_sorted_by_order_not_file_name(tmp_path):
    write_bank(tmp_path, good_bank("aaa", order=5))
    write_bank(tmp_path, good_bank("zzz", order=2))
    write_bank(tmp_path, good_bank("mmm", order=9))
    assert cat.load_catalogue(tmp_path).keys == ("zzz", "aaa", "mmm")


def test_plain_string_text_is_asked_of_every_audience(tmp_path):
    bank = good_bank()
    bank["questions"][2]["text"] = "  Pick one.  "
    bank["questions"][2]["options"][1]["label"] = "Two"  # a label for every audience now asked
    write_bank(tmp_path, bank)
    q = cat.load_catalogue(tmp_path).question("alpha.pick")
    assert q.audiences == cat.AUDIENCES
    assert {q.text_for(a) for a in cat.AUDIENCES} == {"Pick one."}


def test_fixed_answers_for_rating_and_yesno(tmp_path):
    bank = good_bank()
    bank["questions"].append(
        {"id": "alpha.rate", "type": "rating", "text": {"child": "How was it?"}}
    )
    write_bank(tmp_path, bank)
    catalogue = cat.load_catalogue(tmp_path)
    rate = catalogue.question("alpha.rate")
    assert [(o.key, o.label("child")) for o in rate.choices()] == [
        ("very_good", "Very good"),
        ("good", "Good"),
        ("ok", "OK"),
        ("poor", "Poor"),
    ]
    yn = catalogue.question("alpha.screen")
    assert [(o.key, o.label("parent")) for o in yn.choices()] == [("yes", "Yes"), ("no", "No")]
    assert catalogue.question("alpha.followup").choices() == ()


# --------------------------------------------------------------------------- validation rules


def _mutate(mutator) -> dict[str, Any]:
    bank = copy.deepcopy(good_bank())
    mutator(bank)
    return bank


def _q(bank: dict[str, Any], index: int) -> dict[str, Any]:
    return bank["questions"][index]


# (test id, mutation of good_bank(), question named in the error, reason fragment)
QUESTION_RULES = [
    ("bad_type", lambda b: _q(b, 2).update(type="slider"), "alpha.pick", "type must be one of"),
    ("missing_type", lambda b: _q(b, 2).pop("type"), "alpha.pick", "type must be one of"),
    (
        "choice_one_option",
        lambda b: _q(b, 2)["options"].pop(),
        "alpha.pick",
        "needs 2 to 6 options",
    ),
    ("choice_no_options", lambda b: _q(b, 2).pop("options"), "alpha.pick", "needs 2 to 6 options"),
    (
        "option_without_label",
        lambda b: _q(b, 2)["options"][0].pop("label"),
        "alpha.pick",
        "each option needs a 'key' and a 'label'",
    ),
    (
        "option_key_repeated",
        lambda b: _q(b, 2)["options"][1].update(key="one"),
        "alpha.pick",
        "is repeated or not lower_snake",
    ),
    (
        "option_key_not_snake",
        lambda b: _q(b, 2)["options"][1].update(key="Two Words"),
        "alpha.pick",
        "is repeated or not lower_snake",
    ),
    (
        "options_on_yesno",
        lambda b: _q(b, 0).update(options=[{"key": "a", "label": "A"}]),
        "alpha.screen",
        "has fixed answers",
    ),
    (
        "unknown_question_key",
        lambda b: _q(b, 1).update(colour="red"),
        "alpha.followup",
        "unknown keys ['colour']",
    ),
    (
        "audiences_key_is_not_supported",
        lambda b: _q(b, 1).update(audiences=["child"]),
        "alpha.followup",
        "unknown keys ['audiences']",
    ),
    (
        "id_of_another_bank",
        lambda b: _q(b, 1).update(id="beta.followup"),
        "beta.followup",
        "must start with the bank key 'alpha.'",
    ),
    (
        "id_not_lower_case",
        lambda b: _q(b, 2).update(id="alpha.Pick"),
        "alpha.Pick",
        "id must look like",
    ),
    ("empty_text", lambda b: _q(b, 1).update(text="   "), "alpha.followup", "text is empty"),
    (
        "empty_text_for_audience",
        lambda b: _q(b, 1)["text"].update(child=""),
        "alpha.followup",
        "text for 'child' must be non-empty text",
    ),
    (
        "missing_text",
        lambda b: _q(b, 1).pop("text"),
        "alpha.followup",
        "text must be a string or a mapping",
    ),
    (
        "unknown_audience_in_text",
        lambda b: _q(b, 1)["text"].update(pupil="Hi?"),
        "alpha.followup",
        "text has unknown audience 'pupil'",
    ),
    (
        "default_is_not_an_audience_for_text",
        lambda b: _q(b, 1)["text"].update(default="Hi?"),
        "alpha.followup",
        "text has unknown audience 'default'",
    ),
    (
        "unknown_audience_in_label",
        lambda b: _q(b, 2)["options"][1]["label"].update(carer="Two"),
        "alpha.pick",
        "label has unknown audience 'carer'",
    ),
    (
        "unknown_audience_in_help",
        lambda b: _q(b, 0)["help"].update(teacher="Help"),
        "alpha.screen",
        "help has unknown audience 'teacher'",
    ),
    ("empty_help", lambda b: _q(b, 0).update(help=""), "alpha.screen", "help is empty"),
    (
        "max_length_zero",
        lambda b: _q(b, 1).update(max_length=0),
        "alpha.followup",
        "max_length must be a whole number",
    ),
    (
        "max_length_text",
        lambda b: _q(b, 1).update(max_length="long"),
        "alpha.followup",
        "max_length must be a whole number",
    ),
    (
        "show_if_unknown_key",
        lambda b: _q(b, 1)["show_if"].update(equals="yes"),
        "alpha.followup",
        "show_if has unknown keys ['equals']",
    ),
    (
        "show_if_without_question",
        lambda b: _q(b, 1).update(show_if={"in": ["yes"]}),
        "alpha.followup",
        "show_if needs a 'question'",
    ),
    (
        "show_if_without_in_or_answered",
        lambda b: _q(b, 1).update(show_if={"question": "alpha.screen"}),
        "alpha.followup",
        "show_if needs 'in: [...]' or 'answered: true'",
    ),
    (
        "show_if_empty_in",
        lambda b: _q(b, 1)["show_if"].update({"in": []}),
        "alpha.followup",
        "show_if 'in' must be a non-empty list",
    ),
    (
        "show_if_unknown_question",
        lambda b: _q(b, 1)["show_if"].update(question="alpha.nowhere"),
        "alpha.followup",
        "show_if refers to 'alpha.nowhere', which is not an earlier question",
    ),
    (
        "show_if_later_question",
        lambda b: _q(b, 1)["show_if"].update(question="alpha.pick", **{"in": ["one"]}),
        "alpha.followup",
        "show_if refers to 'alpha.pick', which is not an earlier question",
    ),
    (
        "show_if_itself",
        lambda b: _q(b, 1)["show_if"].update(question="alpha.followup", answered=True),
        "alpha.followup",
        "which is not an earlier question",
    ),
    (
        "show_if_value_not_an_answer",
        lambda b: _q(b, 1)["show_if"].update({"in": ["maybe"]}),
        "alpha.followup",
        "show_if values ['maybe'] are not answers of alpha.screen",
    ),
    (
        "show_if_value_on_free_text",
        lambda b: b["questions"].append(
            {
                "id": "alpha.after",
                "type": "text",
                "text": {"child": "And?"},
                "show_if": {"question": "alpha.followup", "in": ["anything"]},
            }
        ),
        "alpha.after",
        "show_if values ['anything'] are not answers of alpha.followup",
    ),
    (
        "show_if_target_not_asked_of_audience",
        lambda b: _q(b, 1)["text"].update(staff="What happened?"),
        "alpha.followup",
        "show_if question alpha.screen is not asked of ['staff', 'partner']",
    ),
    (
        "duplicate_id",
        lambda b: _q(b, 2).update(id="alpha.screen"),
        "alpha.screen",
        "question id is used twice",
    ),
]


@pytest.mark.parametrize(
    ("mutator", "question", "reason"),
    [pytest.param(m, q, r, id=name) for name, m, q, r in QUESTION_RULES],
)
def test_question_rule_fails_naming_file_question_and_reason(tmp_path, mutator, question, reason):
    write_bank(tmp_path, _mutate(mutator))
    expect_error(tmp_path, "alpha.yaml", question, reason)


# (test id, mutation of good_bank(), reason fragment) for rules about the whole file
BANK_RULES = [
    ("unknown_bank_key", lambda b: b.update(owner="me"), "unknown keys ['owner']"),
    ("key_not_snake", lambda b: b.update(key="Alpha"), "key must be lower_snake_case"),
    ("missing_title", lambda b: b.pop("title"), "title is required"),
    ("blank_description", lambda b: b.update(description="  "), "description is required"),
    ("order_not_a_number", lambda b: b.update(order="first"), "order must be a whole number"),
    ("no_questions", lambda b: b.update(questions=[]), "a bank needs at least one question"),
    (
        "question_not_a_mapping",
        lambda b: b["questions"].append("Why?"),
        "every question must be a mapping",
    ),
]


@pytest.mark.parametrize(
    ("mutator", "reason"), [pytest.param(m, r, id=name) for name, m, r in BANK_RULES]
)
def test_bank_rule_fails_naming_file_and_reason(tmp_path, mutator, reason):
    write_bank(tmp_path, _mutate(mutator), name="alpha.yaml")
    expect_error(tmp_path, "alpha.yaml", None, reason)


def test_file_name_must_match_key(tmp_path):
    write_bank(tmp_path, good_bank("alpha"), name="beta.yaml")
    expect_error(tmp_path, "beta.yaml", None, "file name must match the key (alpha.yaml)")


def test_invalid_yaml_names_the_file(tmp_path):
    write_bank(tmp_path, good_bank("beta"))
    (tmp_path / "alpha.yaml").write_text("key: alpha\nquestions: [\n  - id: x\n", "utf-8")
    expect_error(tmp_path, "alpha.yaml", None, "not valid YAML")


def test_unquoted_question_mark_in_flow_mapping_is_invalid_yaml(tmp_path):
    # A YAML pitfall for bank authors: {child: Why?} does not parse; quote it or use a block.
    text = yaml.safe_dump(good_bank(), sort_keys=False)
    text += "- id: alpha.why\n  type: text\n  text: {child: Why?}\n"
    (tmp_path / "alpha.yaml").write_text(text, "utf-8")
    expect_error(tmp_path, "alpha.yaml", None, "not valid YAML")


def test_bank_that_is_not_a_mapping(tmp_path):
    (tmp_path / "alpha.yaml").write_text("- just\n- a list\n", "utf-8")
    expect_error(tmp_path, "alpha.yaml", None, "a bank must be a mapping")


def test_unquoted_yes_in_show_if_is_caught(tmp_path):
    # YAML 1.1 reads a bare yes as True; the validator must not let it through silently.
    text = yaml.safe_dump(good_bank(), sort_keys=False).replace("- 'yes'", "- yes")
    assert "- yes\n" in text
    (tmp_path / "alpha.yaml").write_text(text, "utf-8")
    expect_error(
        tmp_path,
        "alpha.yaml",
        "alpha.followup",
        "show_if values ['True'] are not answers of alpha.screen",
    )


def test_unquoted_no_as_option_key_is_caught(tmp_path):
    text = yaml.safe_dump(good_bank(), sort_keys=False).replace("key: one", "key: no")
    (tmp_path / "alpha.yaml").write_text(text, "utf-8")
    expect_error(tmp_path, "alpha.yaml", "alpha.pick", "each option needs a 'key' and a 'label'")


def test_show_if_to_a_later_bank_is_rejected(tmp_path):
    first = good_bank("alpha", order=1)
    first["questions"][1]["show_if"] = {"question": "beta.screen", "in": ["yes"]}
    write_bank(tmp_path, first)
    write_bank(tmp_path, good_bank("beta", order=2))
    expect_error(
        tmp_path,
        "alpha.yaml",
        "alpha.followup",
        "show_if refers to 'beta.screen', which is not an earlier question",
    )


def test_question_ids_are_unique_across_banks(tmp_path):
    # A question id carries its bank's key, so the same id can only come from the same key
    # twice; that is refused either as a foreign prefix or as a repeated id.
    write_bank(tmp_path, good_bank("alpha"))
    beta = good_bank("beta", order=2)
    beta["questions"][0]["id"] = "alpha.screen"
    write_bank(tmp_path, beta)
    expect_error(tmp_path, "beta.yaml", "alpha.screen", "must start with the bank key 'beta.'")

    ids = [q.id for b in cat.load_catalogue().banks for q in b.questions]
    assert len(ids) == len(set(ids))


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(cat.BankError, match="no banks found"):
        cat.load_catalogue(tmp_path)


def test_error_message_format():
    err = cat.BankError("x.yaml", "x.q", "broken")
    assert str(err) == "x.yaml: question 'x.q': broken"
    assert str(cat.BankError("x.yaml", None, "broken")) == "x.yaml: broken"
    assert isinstance(err, ValueError)


# --------------------------------------------------------------------------- audiences


def test_questions_for_respects_audiences(tmp_path):
    write_bank(tmp_path, good_bank("alpha", order=1))
    write_bank(tmp_path, good_bank("beta", order=2))
    general = good_bank("general", order=99)
    general["questions"] = [
        {"id": "general.next", "type": "text", "text": "What next?"},
        {"id": "general.train", "type": "text", "text": {"staff": "Training?"}},
    ]
    write_bank(tmp_path, general)
    catalogue = cat.load_catalogue(tmp_path)
    ids = lambda qs: [q.id for q in qs]  # noqa: E731
    assert ids(catalogue.questions_for(["alpha"], "child")) == [
        "alpha.screen",
        "alpha.followup",
        "alpha.pick",
        "general.next",
    ]
    assert ids(catalogue.questions_for(["alpha"], "parent")) == [
        "alpha.screen",
        "alpha.followup",
        "general.next",
    ]
    assert ids(catalogue.questions_for(["beta"], "staff")) == [
        "beta.pick",
        "general.next",
        "general.train",
    ]
    # partner falls back to staff wording, so is asked the same questions
    assert ids(catalogue.questions_for(["beta"], "partner")) == ids(
        catalogue.questions_for(["beta"], "staff")
    )
    # no chosen priority: only the general questions; plan order is kept
    assert ids(catalogue.questions_for([], "child")) == ["general.next"]
    assert ids(catalogue.questions_for(["beta", "alpha"], "parent"))[:2] == [
        "alpha.screen",
        "alpha.followup",
    ]
    assert catalogue.questions_for(["alpha"], "martian") == ()


def test_packaged_questions_for_audiences():
    catalogue = cat.load_catalogue()
    child = {q.id for q in catalogue.questions_for(["restorative_approaches_and_victims"], "child")}
    parent = {q.id for q in catalogue.questions_for(["working_with_families"], "parent")}
    staff = {q.id for q in catalogue.questions_for(["remands"], "staff")}
    partner = {q.id for q in catalogue.questions_for(["remands"], "partner")}
    assert "restorative_approaches_and_victims.say_sorry" in child
    assert "working_with_families.supported" in parent
    assert "working_with_families.supported" not in {
        q.id for q in catalogue.questions_for(["working_with_families"], "child")
    }
    assert "remands.ever" not in staff
    assert {"remands.support", "general.next_year", "general.training"} <= staff
    assert staff == partner
    assert "general.training" not in {q.id for q in catalogue.questions_for([], "child")}


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("condition", "answers", "expected"),
    [
        (cat.Condition("a.q", ("yes",)), {"a.q": "yes"}, True),
        (cat.Condition("a.q", ("yes",)), {"a.q": "no"}, False),
        (cat.Condition("a.q", ("yes",)), {}, False),
        (cat.Condition("a.q", ("yes",)), {"a.q": None}, False),
        (cat.Condition("a.q", ("yes",)), {"b.q": "yes"}, False),
        (cat.Condition("a.q", ("yes", "not_sure")), {"a.q": "not_sure"}, True),
        (cat.Condition("a.q", ("3",)), {"a.q": 3}, True),
        (cat.Condition("a.q", (), answered=True), {"a.q": "anything at all"}, True),
        (cat.Condition("a.q", (), answered=True), {"a.q": "poor"}, True),
        (cat.Condition("a.q", (), answered=True), {"a.q": None}, False),
        (cat.Condition("a.q", (), answered=True), {}, False),
        (cat.Condition("a.q", ()), {"a.q": "yes"}, False),
    ],
)
def test_condition_holds(condition, answers, expected):
    assert condition.holds(answers) is expected


def test_packaged_remand_followups_need_a_yes():
    catalogue = cat.load_catalogue()
    experience = catalogue.question("remands.experience")
    assert experience.show_if is not None
    assert experience.show_if.holds({"remands.ever": "yes"})
    assert not experience.show_if.holds({"remands.ever": "no"})
    assert not experience.show_if.holds({"remands.ever": None})


# --------------------------------------------------------------------------- wording fallback


def test_question_wording_fallback_partner_to_staff():
    q = cat.Question(
        "a.q", "a", "text", {"child": "C", "staff": "S"}, helps={"default": "H", "staff": "HS"}
    )
    assert q.text_for("partner") == "S"
    assert q.text_for("staff") == "S"
    assert q.text_for("child") == "C"
    assert q.text_for("parent") is None  # no fallback from parent to anyone
    assert q.audiences == ("child", "staff", "partner")
    assert q.help_for("partner") == "HS"
    assert q.help_for("parent") == "H"
    assert q.help_for("child") == "H"


def test_partner_own_wording_wins():
    q = cat.Question("a.q", "a", "text", {"staff": "S", "partner": "P"}, helps={"child": "H"})
    assert q.text_for("partner") == "P"
    assert q.text_for("staff") == "S"
    assert q.help_for("staff") is None
    assert q.audiences == ("staff", "partner")


def test_option_label_fallback():
    opt = cat.Option("two", {"default": "Two", "staff": "Two (staff)", "child": "2"})
    assert opt.label("partner") == "Two (staff)"
    assert opt.label("child") == "2"
    assert opt.label("parent") == "Two"
    assert cat.Option("two", {"staff": "S"}).label("parent") == "two"  # last resort: the key
    assert cat.Option("two", {"partner": "P", "staff": "S"}).label("partner") == "P"


def test_packaged_partner_wording():
    catalogue = cat.load_catalogue()
    training = catalogue.question("general.training")
    assert training.text_for("partner") != training.text_for("staff")
    support = catalogue.question("remands.support")
    assert support.text_for("partner") == support.text_for("staff")


def test_follow_ups_have_headings_that_stand_on_their_own(catalogue):
    why = [
        q.id
        for b in catalogue.banks
        for q in b.questions
        if q.show_if is not None and q.show_if.answered and q.text_for("child")
    ]
    headings = [catalogue.heading(qid, "child") for qid in why]
    assert len(why) >= 4
    assert len(set(headings)) == len(headings)  # "Tell us why." four times, told apart
    assert catalogue.heading("general.rating_why", "child") == (
        "How was your time with the YOT? Tell us why."
    )
    assert catalogue.heading("policing.opinion", "child") == (
        "What do you think of the police round here?"
    )
