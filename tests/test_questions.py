"""A service's own questions join the catalogue every part reads, and keep what was answered.

Run on SQLite and PostgreSQL (``rt``). Questions are written through the service
(``surveys.services.questions``) as the workbench's builder and an import write them.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import replace

import pytest
import yaml
from sqlalchemy import func, select

from surveys.core import engine
from surveys.core.catalogue import BANKS_DIR, load_bank
from surveys.runtime import Runtime
from surveys.services import conversation, exporting, questions
from surveys.services.questions import QuestionInvalid
from surveys.storage import store
from surveys.storage.models import Answer, CatalogueStamp, LocalBank, LocalQuestion, Round

NAME_IDEAS = {
    "type": "text",
    "text": {
        "child": {"en": "What should we call the YOT?", "cy": "Beth ddylen ni alw'r YOT?"},
        "parent": {"en": "What should the service be called?"},
    },
}
LIKE_NAME = {
    "type": "choice",
    "text": {"child": {"en": "Do you like the name YOT?"}},
    "options": [
        {"key": "yes", "label": {"en": "Yes"}},
        {"key": "no", "label": {"en": "No"}},
        {"key": "not_sure", "label": {"en": "Not sure"}},
    ],
}
WHY = {
    "type": "text",
    "text": {"child": {"en": "Tell us why."}},
    "show_if": {"question": "renaming.like_name", "answered": True},
}


def consultation(rt, *, with_questions=True) -> str:
    """Create the 'renaming the service' consultation; return its key."""
    with rt.transaction() as s:
        bank = questions.create_bank(
            s,
            rt.banks,
            title="Renaming the service",
            purpose="What young people and families think the youth justice service "
            "should be called.",
            kind=questions.CONSULTATION,
            key="renaming",
        )
        if with_questions:
            questions.add_question(s, rt.banks, priority="renaming", spec=NAME_IDEAS)
            questions.add_question(
                s, rt.banks, priority="renaming", spec=LIKE_NAME, name="renaming.like_name"
            )
            questions.add_question(s, rt.banks, priority="renaming", spec=WHY, name="renaming.why")
        return bank.key


def open_on(rt, priorities, *, languages=("en",), audiences=("child", "parent")) -> Round:
    with rt.transaction() as s:
        return store.open_round(
            s,
            rt.catalogue,
            title="Round",
            priorities=priorities,
            audiences=audiences,
            languages=languages,
        )


def counts(rt) -> tuple[int, int, str]:
    with rt.transaction() as s:
        return (
            s.scalar(select(func.count()).select_from(LocalQuestion)),
            s.scalar(select(func.count()).select_from(LocalBank)),
            s.scalar(select(CatalogueStamp.stamp)),
        )


# ---- the catalogue every part reads -------------------------------------------------------


def test_a_consultation_becomes_a_bank_of_the_catalogue_before_general(rt):
    consultation(rt)
    cat = rt.catalogue
    assert "renaming" in cat.priority_keys
    assert cat.keys[-1] == "general"  # the general questions stay last in the plan
    bank = cat.bank("renaming")
    assert bank.title == "Renaming the service"
    assert [q.id for q in bank.questions] == [
        "renaming.call_yot",
        "renaming.like_name",
        "renaming.why",
    ]
    assert cat.question("renaming.call_yot").text_for("child", "cy") == "Beth ddylen ni alw'r YOT?"
    assert cat.question("renaming.why").show_if.question == "renaming.like_name"


def test_a_question_saved_in_one_process_reaches_another(rt):
    other = Runtime(rt.settings)
    try:
        before = other.catalogue
        assert "renaming" not in before.keys
        assert other.catalogue is before  # nothing changed: the same catalogue, not rebuilt
        consultation(rt)
        assert "renaming" in other.catalogue.keys
    finally:
        other.close()


def test_a_delivery_reads_the_catalogue_in_its_own_transaction(rt):
    """A received text checks the stamp on its own connection and sees a question saved
    in another process, as ``rt.catalogue`` does."""
    other = Runtime(rt.settings)
    try:
        with other.transaction() as s:
            before = other.context_in(s).catalogue
        assert "renaming" not in before.keys
        assert other.catalogue is before  # the same build, cached by the stamp
        consultation(rt)
        with other.transaction() as s:
            assert "renaming" in other.context_in(s).catalogue.keys
    finally:
        other.close()


def test_a_change_rolled_back_is_never_seen(rt):
    before = rt.catalogue
    with pytest.raises(RuntimeError), rt.transaction() as s:
        questions.create_bank(s, rt.banks, title="Victims", purpose="What victims need.")
        questions.add_question(s, rt.banks, priority="victims", spec=NAME_IDEAS)
        assert "victims" in questions.catalogue(s, rt.banks).keys  # this session sees it
        raise RuntimeError("roll back")
    assert rt.catalogue.keys == before.keys
    assert counts(rt)[:2] == (0, 0)


def test_local_questions_under_a_national_priority_follow_its_own(rt, catalogue):
    with rt.transaction() as s:
        saved = questions.add_question(
            s,
            rt.banks,
            priority="policing",
            spec={"type": "text", "text": {"child": "What do you think of the police in Medway?"}},
        )
    assert saved.qid == "policing.local_think_police_medway"
    policing = rt.catalogue.bank("policing")
    national = catalogue.bank("policing").questions
    assert policing.questions[: len(national)] == national
    assert policing.questions[-1].id == saved.qid


def test_the_engine_asks_a_consultation_with_its_follow_up(rt):
    consultation(rt)
    rnd = open_on(rt, ["renaming"], audiences=("child",))
    survey = conversation.survey_for(rnd, rt.catalogue)
    ids = [q.id for q in survey.questions("child")]
    assert ids[:3] == ["renaming.call_yot", "renaming.like_name", "renaming.why"]
    state = engine.begin(survey, audience="child").state
    state = engine.step(survey, state, engine.Inbound(choice="yes")).state  # consent
    assert state.current == "renaming.call_yot"
    state = engine.step(survey, state, engine.Inbound(command="skip")).state
    result = engine.step(survey, state, engine.Inbound(command="skip"))  # skips like_name
    assert result.state.current != "renaming.why"  # a skipped question has no follow-up


# ---- frozen once asked ---------------------------------------------------------------------


def answer(rt, rnd: Round, *inputs: engine.Inbound) -> str:
    """Start a young person on the web in a round, answer, and return their id."""
    ctx = rt.context
    with rt.transaction() as s:
        resp, _ = conversation.start(
            s, s.merge(rnd), ctx, channel="web", audience="child", lang="en"
        )
        rid = resp.id
    for i, inbound in enumerate((engine.Inbound(choice="yes"), *inputs)):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, inbound, key=f"web:{rid}:{i}")
    return rid


def test_a_question_never_asked_is_changed_in_place(rt):
    consultation(rt)
    with rt.transaction() as s:
        saved = questions.edit_question(
            s, rt.banks, "renaming.call_yot", {**NAME_IDEAS, "max_length": 500}
        )
    assert (saved.qid, saved.new_version) == ("renaming.call_yot", False)
    assert rt.catalogue.question("renaming.call_yot").max_length == 500


def test_editing_a_question_of_an_open_round_makes_a_new_version_and_says_so(rt, jobs_immediate):
    consultation(rt)
    rnd = open_on(rt, ["renaming"])
    answer(rt, rnd, engine.Inbound(text="Youth Voice Team"))
    new_wording = {
        **NAME_IDEAS,
        "text": {"child": {"en": "What name would you give the YOT?", "cy": "Pa enw?"}},
    }
    with rt.transaction() as s:
        saved = questions.edit_question(s, rt.banks, "renaming.call_yot", new_wording)
    assert saved.new_version and saved.qid == "renaming.call_yot.v2"
    assert saved.asked_in == (rnd.code,) and saved.answers == 1
    assert f"round {rnd.code} is open" in saved.message
    assert "keep the wording they answered" in saved.message
    cat = rt.catalogue
    asked = [q.id for q in conversation.survey_for(rnd, cat).questions("child")]
    assert "renaming.call_yot.v2" in asked and "renaming.call_yot" not in asked
    # the first version is still found, with the wording that was answered
    assert cat.question("renaming.call_yot").text_for("child") == "What should we call the YOT?"
    assert cat.question("renaming.call_yot.v2").text_for("child") == (
        "What name would you give the YOT?"
    )
    answer(rt, rnd, engine.Inbound(text="The Hub"))
    with rt.transaction() as s:
        rnd = s.merge(rnd)
        out = io.StringIO()
        exporting.export_answers(s, rnd, rt.catalogue, out, actor="test")
    lines = out.getvalue()
    assert "What should we call the YOT?" in lines and "Youth Voice Team" in lines
    assert "What name would you give the YOT?" in lines and "The Hub" in lines


def test_someone_part_way_through_carries_on_in_the_new_version(rt):
    consultation(rt)
    rnd = open_on(rt, ["renaming"], audiences=("child",))
    ctx = rt.context
    with rt.transaction() as s:
        resp, _ = conversation.start(s, s.merge(rnd), ctx, channel="web", lang="en")
        rid = resp.id
    with rt.transaction() as s:
        conversation.apply(s, rt.context, rid, engine.Inbound(choice="yes"), key="k1")
        conversation.apply(s, rt.context, rid, engine.Inbound(text="The Hub"), key="k2")
    # they are now at like_name; the lead adds an answer to it
    changed = {**LIKE_NAME, "options": [*LIKE_NAME["options"], {"key": "hate", "label": "No way"}]}
    with rt.transaction() as s:
        assert questions.edit_question(s, rt.banks, "renaming.like_name", changed).new_version
    with rt.transaction() as s:
        resp = s.get(type(resp), rid)
        shown = conversation.current_replies(resp.round, resp, rt.context)[-1]
        assert shown.question_id == "renaming.like_name.v2"
        assert ("hate", "No way") in shown.choices
        # the page they had open still answers: the old id is read as the new one
        turn = conversation.apply(
            s,
            rt.context,
            rid,
            engine.Inbound(choice="hate", question_id="renaming.like_name"),
            key="k3",
        )
        assert turn.replies[-1].question_id == "renaming.why"  # the follow-up still follows
        assert turn.replies[-1].progress[0] == 3  # not back at the start
    with rt.transaction() as s:
        stored = s.execute(
            select(Answer.question_id, Answer.choice).where(Answer.respondent_id == rid)
        ).all()
    assert ("renaming.like_name.v2", "hate") in stored


def test_removing_a_question_asked_keeps_it_for_its_answers(rt):
    consultation(rt)
    rnd = open_on(rt, ["renaming"])
    answer(rt, rnd, engine.Inbound(text="The Hub"))
    with rt.transaction() as s:
        saved = questions.remove_question(s, rt.banks, "renaming.call_yot")
    assert "no longer asked" in saved.message and "1 answer" in saved.message
    cat = rt.catalogue
    assert "renaming.call_yot" not in [q.id for q in cat.bank("renaming").questions]
    assert cat.question("renaming.call_yot").text_for("child") == "What should we call the YOT?"


def test_removing_a_question_never_asked_deletes_it(rt):
    consultation(rt)
    with rt.transaction() as s:
        saved = questions.remove_question(s, rt.banks, "renaming.call_yot")
    assert saved.message == "Question renaming.call_yot deleted."
    with pytest.raises(KeyError):
        rt.catalogue.question("renaming.call_yot")


def test_reordering_keeps_follow_ups_after_their_question(rt):
    consultation(rt)
    with rt.transaction() as s:
        questions.move_question(s, rt.banks, "renaming.call_yot", +1)
    assert [q.id for q in rt.catalogue.bank("renaming").questions] == [
        "renaming.like_name",
        "renaming.call_yot",
        "renaming.why",
    ]
    before = counts(rt)
    with (
        pytest.raises(QuestionInvalid, match=r"renaming\.why.*must come after"),
        rt.transaction() as s,
    ):
        questions.move_question(s, rt.banks, "renaming.why", -1)
        questions.move_question(s, rt.banks, "renaming.why", -1)
    assert counts(rt) == before


# ---- bad input: a clear message, nothing half-saved ----------------------------------------


@pytest.mark.parametrize(
    ("spec", "name", "message"),
    [
        ({"type": "text", "text": {"child": {"en": "   "}}}, None, "its wording is empty"),
        ({"type": "text", "text": {}}, None, "its wording is empty"),
        (
            {"type": "text", "text": {"child": {"cy": "Beth?"}}},
            None,
            "its wording is empty",
        ),
        (
            {"type": "text", "text": {"child": " ".join(["word"] * 300) + "?"}},
            None,
            "wording for children in English has 300 words: at most 50",
        ),
        (
            {
                "type": "text",
                "text": {"child": "Why?"},
                "show_if": {"question": "renaming.self", "answered": True},
            },
            "renaming.self",
            "cannot be a follow-up to itself",
        ),
        (
            {
                "type": "text",
                "text": {"child": "Why?"},
                "show_if": {"question": "renaming.nowhere", "answered": True},
            },
            None,
            "follows renaming.nowhere, which is not a question of this priority",
        ),
        (
            {
                "type": "text",
                "text": {"child": "Why?"},
                "show_if": {"question": "remands.ever", "answered": True},
            },
            None,
            "under another priority",
        ),
        ({"type": "text", "text": {"child": "Again?"}}, "renaming.like_name", "used by another"),
        ({"type": "text", "text": {"child": "Again?"}}, "policing.opinion", "must be 'renaming'"),
        ({"type": "essay", "text": {"child": "Write?"}}, None, "choose its type"),
        (
            {"type": "choice", "text": {"child": "Pick?"}, "options": [{"key": "a", "label": "A"}]},
            None,
            "needs 2 to 6 options",
        ),
        (
            {
                "type": "choice",
                "text": {"child": "Pick?"},
                "options": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}],
            },
            None,
            "option key 'a' is repeated",
        ),
        (
            {
                "type": "text",
                "text": {"child": "Why?"},
                "show_if": {"question": "renaming.like_name", "in": ["maybe"]},
            },
            None,
            "are not answers of renaming.like_name",
        ),
    ],
    ids=[
        "blank",
        "no_wording",
        "welsh_only",
        "300_words",
        "follows_itself",
        "follows_nothing",
        "follows_other_priority",
        "duplicate_id",
        "foreign_id",
        "unknown_type",
        "one_option",
        "repeated_option",
        "unknown_answer",
    ],
)
def test_a_bad_question_is_refused_by_name_and_nothing_is_saved(rt, spec, name, message):
    consultation(rt)
    before = counts(rt)
    with pytest.raises(QuestionInvalid, match=message) as caught, rt.transaction() as s:
        questions.add_question(s, rt.banks, priority="renaming", spec=spec, name=name)
    assert str(caught.value).startswith(("Question renaming.", "The id"))
    assert counts(rt) == before


def test_a_follow_up_to_a_later_question_is_refused(rt):
    consultation(rt)
    with rt.transaction() as s:
        questions.add_question(
            s,
            rt.banks,
            priority="renaming",
            spec={"type": "yesno", "text": "Any more?"},
            name="renaming.any",
        )
    before = counts(rt)
    edited = {**NAME_IDEAS, "show_if": {"question": "renaming.any", "answered": True}}
    with pytest.raises(QuestionInvalid, match="which comes after it"), rt.transaction() as s:
        questions.edit_question(s, rt.banks, "renaming.call_yot", edited)
    assert counts(rt) == before


def test_an_open_round_in_welsh_needs_welsh_wording(rt):
    consultation(rt, with_questions=False)
    with rt.transaction() as s:
        questions.update_bank(
            s,
            rt.banks,
            "renaming",
            title="Renaming the service",
            title_cy="Ailenwi'r gwasanaeth",
            purpose="What the service should be called.",
        )
        questions.add_question(s, rt.banks, priority="renaming", spec=NAME_IDEAS)
    rnd = open_on(rt, ["renaming"], languages=("cy", "en"), audiences=("child",))
    before = counts(rt)
    refused = pytest.raises(QuestionInvalid, match=f"round {rnd.code} is open in Cymraeg")
    with refused, rt.transaction() as s:
        questions.add_question(
            s, rt.banks, priority="renaming", spec={"type": "yesno", "text": "More?"}
        )
    assert counts(rt) == before


def test_a_question_of_a_removed_priority_is_left_out_not_fatal(rt, tmp_path):
    with rt.transaction() as s:
        questions.add_question(
            s, rt.banks, priority="policing", spec={"type": "text", "text": "Police here?"}
        )
    folder = tmp_path / "banks"
    folder.mkdir()
    for name in ("general.yaml", "remands.yaml"):  # a banks folder without policing
        shutil.copy(BANKS_DIR / name, folder / name)
    other = Runtime(replace(rt.settings, banks_dir=folder))
    try:
        assert other.catalogue.keys == ("remands", "general")
        problems = other.catalogues.problems()
        assert any("policing" in p and "no such priority" in p for p in problems)
    finally:
        other.close()


# ---- bank files: download and upload -------------------------------------------------------


def test_a_consultation_downloads_as_a_bank_file_the_loader_accepts(rt, tmp_path):
    consultation(rt)
    with rt.transaction() as s:
        text = questions.export_bank(s, rt.banks, "renaming")
    path = tmp_path / "renaming.yaml"
    path.write_text(text, encoding="utf-8")
    bank = load_bank(path)  # the packaged banks' own checks, file name included
    assert [q.id for q in bank.questions] == [
        "renaming.call_yot",
        "renaming.like_name",
        "renaming.why",
    ]
    assert bank.titles == {} and bank.description.startswith("What young people")
    assert text.startswith("# Renaming the service: a consultation of this service.")


def test_an_uploaded_bank_file_adds_changes_and_orders_questions(rt):
    consultation(rt)
    rnd = open_on(rt, ["renaming"])
    answer(rt, rnd, engine.Inbound(text="The Hub"))
    with rt.transaction() as s:
        text = questions.export_bank(s, rt.banks, "renaming")
    doc = yaml.safe_load(text)
    doc["questions"][0]["text"]["child"]["en"] = "What name would you give the YOT?"
    doc["questions"].insert(
        0, {"id": "renaming.heard", "type": "yesno", "text": {"child": {"en": "Heard of us?"}}}
    )
    with rt.transaction() as s:
        done = questions.import_bank(
            s, rt.banks, yaml.safe_dump(doc, allow_unicode=True), filename="renaming.yaml"
        )
    assert done.added == ("renaming.heard",)
    assert done.new_versions == ("renaming.call_yot.v2",)  # answered, so a new version
    assert done.unchanged == ("renaming.like_name", "renaming.why")
    assert "1 added, 1 saved as new versions, 2 unchanged" in done.summary()
    ids = [q.id for q in rt.catalogue.bank("renaming").questions]
    assert ids == ["renaming.heard", "renaming.call_yot.v2", "renaming.like_name", "renaming.why"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["questions"][1].pop("options"), "question 'renaming.like_name': a choice"),
        (
            lambda d: d["questions"].append(dict(d["questions"][0])),
            "question id is used twice|is used by another question",
        ),
        (lambda d: d.update(colour="blue"), r"unknown keys \['colour'\]"),
        (
            lambda d: d["questions"][2].update(show_if={"question": "renaming.why", "in": ["x"]}),
            "cannot be a follow-up to itself",
        ),
        (
            lambda d: d["questions"][0]["text"]["child"].update(en=" ".join(["long"] * 300)),
            "has 300 words",
        ),
    ],
    ids=["no_options", "duplicate_id", "unknown_key", "follows_itself", "300_words"],
)
def test_a_bad_bank_file_is_refused_naming_the_question_and_nothing_changes(rt, change, message):
    consultation(rt)
    with rt.transaction() as s:
        doc = yaml.safe_load(questions.export_bank(s, rt.banks, "renaming"))
    change(doc)
    doc["questions"].insert(
        0, {"id": "renaming.first", "type": "yesno", "text": {"child": {"en": "First?"}}}
    )
    before = counts(rt)
    with pytest.raises(QuestionInvalid, match=message) as caught, rt.transaction() as s:
        questions.import_bank(s, rt.banks, yaml.safe_dump(doc), filename="renaming.yaml")
    assert str(caught.value).startswith("renaming.yaml")
    assert counts(rt) == before  # all or nothing: not even renaming.first


def test_a_bank_file_for_a_national_priority_adds_only_local_questions(rt):
    policing = (BANKS_DIR / "policing.yaml").read_text(encoding="utf-8")
    refused = pytest.raises(QuestionInvalid, match=r"'policing\.opinion' is one of the national")
    with refused, rt.transaction() as s:
        questions.import_bank(s, rt.banks, policing, filename="policing.yaml")
    doc = yaml.safe_load(policing)
    doc["questions"] = [
        {"id": "policing.local_medway", "type": "text", "text": {"child": "Police in Medway?"}}
    ]
    with rt.transaction() as s:
        done = questions.import_bank(s, rt.banks, yaml.safe_dump(doc), filename="p.yaml")
    assert done.added == ("policing.local_medway",)
    assert rt.catalogue.bank("policing").questions[-1].id == "policing.local_medway"


def test_a_file_that_is_not_yaml_is_refused_clearly(rt):
    with pytest.raises(QuestionInvalid, match=r"bad\.yaml: not valid YAML"), rt.transaction() as s:
        questions.import_bank(s, rt.banks, "key: [unclosed", filename="bad.yaml")
