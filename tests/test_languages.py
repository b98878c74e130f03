"""The language axis: wording per audience and language, a person's language chosen at first
contact and kept, Welsh typed words, and switching language without losing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from surveys.core import catalogue as cat
from surveys.core import engine
from surveys.services import conversation
from surveys.storage import store
from surveys.storage.models import Answer, Respondent

BANK = {
    "key": "alpha",
    "title": {"en": "Alpha", "cy": "Alffa"},
    "order": 1,
    "description": "A small test bank.",
    "questions": [
        {
            "id": "alpha.police",
            "type": "yesno",
            "text": {
                "child": {
                    "en": "Have the police stopped you?",
                    "cy": "Ydy'r heddlu wedi dy stopio?",
                },
                "parent": "Have the police stopped your child?",
            },
            "help": {"child": {"en": "Stopped means asked to wait.", "cy": "Stopio: aros."}},
        },
        {
            "id": "alpha.words",
            "type": "text",
            "text": {"child": {"en": "What do you think?", "cy": "Beth wyt ti'n feddwl?"}},
        },
        {
            "id": "alpha.pick",
            "type": "choice",
            "text": {"child": {"en": "Pick one.", "cy": "Dewisa un."}},
            "options": [
                {"key": "fair", "label": {"en": "Fair", "cy": "Teg"}},
                {"key": "unfair", "label": {"en": "Unfair", "cy": "Annheg"}},
            ],
        },
    ],
}


def write(folder: Path, bank: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{bank['key']}.yaml").write_text(yaml.safe_dump(bank, allow_unicode=True), "utf-8")
    return folder


@pytest.fixture
def welsh_catalogue(tmp_path):
    return cat.load_catalogue(write(tmp_path / "banks", BANK))


def survey(catalogue, languages=("cy", "en"), audiences=("child",)):
    return engine.Survey("Arolwg", audiences, ("alpha",), catalogue, languages=languages)


def walk(sv, state, *inputs):
    result = None
    for kw in inputs:
        result = engine.step(sv, state, engine.Inbound(**kw), withdrawal_code="ABCD-EFGH")
        state = result.state
    return result


# --------------------------------------------------------------------------- the banks


def test_bank_wording_per_audience_and_language(welsh_catalogue):
    q = welsh_catalogue.question("alpha.police")
    assert q.text_for("child", "cy") == "Ydy'r heddlu wedi dy stopio?"
    assert q.text_for("child") == "Have the police stopped you?"
    assert q.help_for("child", "cy") == "Stopio: aros."
    # English-only wording falls back to English rather than showing nothing.
    assert q.text_for("parent", "cy") == "Have the police stopped your child?"
    assert welsh_catalogue.bank("alpha").title_in("cy") == "Alffa"
    labels = [o.label("child", "cy") for o in q.choices()]
    assert labels == ["Ie", "Na"]
    assert [o.label("child") for o in q.choices()] == ["Yes", "No"]


def test_missing_welsh_is_listed_by_file_question_and_what(welsh_catalogue):
    assert welsh_catalogue.missing("cy", audiences=["child"]) == []
    assert welsh_catalogue.missing("cy") == ["alpha.yaml: alpha.police: text for parent"]
    assert welsh_catalogue.missing("en") == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ({"child": {"cy": "Dim Saesneg"}}, "text for 'child' has no English ('en') wording"),
        ({"child": {"en": "Hi", "fr": "Salut"}}, "unknown language 'fr'"),
        ({"child": {"en": "Hi", "cy": "  "}}, "text for 'child' in 'cy' must be non-empty"),
    ],
)
def test_a_bad_translation_fails_loudly_naming_file_and_question(tmp_path, text, reason):
    bank = yaml.safe_load(yaml.safe_dump(BANK))
    bank["questions"][1]["text"] = text
    with pytest.raises(cat.BankError) as info:
        cat.load_catalogue(write(tmp_path, bank))
    assert info.value.file == "alpha.yaml"
    assert info.value.question == "alpha.words"
    assert reason in str(info.value)


# --------------------------------------------------------------------------- the engine


def test_english_texts_are_unchanged_by_default():
    texts = engine.default_texts()
    assert texts.get("danger", None) == (
        "In danger now? Call 999. Childline: 0800 1111 (free, any time)."
    )
    assert texts.get("danger", None, "cy").startswith("Mewn perygl nawr? Ffonia 999.")
    assert "0800 1111" in texts.get("danger", "parent", "cy")


def test_second_helpline_follows_the_danger_line_in_its_languages():
    texts = engine.default_texts().with_helpline("Meic 080880 23456", ("cy",))
    assert texts.get("danger", "child", "cy").endswith("Neu Meic 080880 23456 (am ddim).")
    assert "Meic" not in texts.get("danger", "child", "en")


def test_a_round_in_two_languages_asks_first_with_the_hint_first(welsh_catalogue):
    sv = survey(welsh_catalogue, languages=("en", "cy"))
    start = engine.begin(sv, hint="cy")
    assert start.state.stage == "language"
    assert start.replies[0].choices == (("cy", "Cymraeg"), ("en", "English"))
    chosen = engine.step(sv, start.state, engine.Inbound(choice="cy"))
    assert chosen.state.lang == "cy"
    assert chosen.state.stage == "consent"  # one audience: fixed
    assert chosen.replies[0].text.startswith("Haia! Dyma Arolwg.")
    assert "Gelli di hepgor" in chosen.replies[1].text


def test_typing_the_language_name_chooses_it(welsh_catalogue):
    sv = survey(welsh_catalogue)
    start = engine.begin(sv)
    assert walk(sv, start.state, {"text": "cymraeg"}).state.lang == "cy"
    assert walk(sv, start.state, {"text": "English"}).state.lang == "en"
    assert walk(sv, start.state, {"text": "2"}).state.lang == "en"  # Cymraeg is first


def test_a_chosen_language_the_round_lacks_gives_its_first(welsh_catalogue):
    sv = survey(welsh_catalogue, languages=("cy",))
    start = engine.begin(sv, lang="en")
    assert start.state.lang == "cy"
    assert start.state.stage == "consent"


def test_welsh_commands_work_in_welsh_only(welsh_catalogue):
    sv = survey(welsh_catalogue)
    state = engine.begin(sv, lang="cy").state
    asked = walk(sv, state, {"choice": "yes"})
    assert asked.replies[-1].text == "Ydy'r heddlu wedi dy stopio?"
    assert asked.replies[-1].choices == (("yes", "Ie"), ("no", "Na"))
    skipped = walk(sv, asked.state, {"text": "Hepgor"})
    assert skipped.state.current == "alpha.words"
    back = walk(sv, skipped.state, {"text": "nol"})  # typed without its accent
    assert back.state.current == "alpha.police"
    assert walk(sv, back.state, {"text": "ydw"}).state.answers == {"alpha.police": "yes"}
    assert walk(sv, back.state, {"text": "skip"}).state.current == "alpha.words"
    # In English, a Welsh word is just words.
    english = engine.begin(sv, lang="en").state
    words = walk(sv, english, {"choice": "yes"}, {"choice": "no"}, {"text": "hepgor"})
    assert [a.text for a in words.answers] == ["hepgor"]


def test_switching_language_mid_question_keeps_every_answer(welsh_catalogue):
    sv = survey(welsh_catalogue)
    state = walk(sv, engine.begin(sv, lang="en").state, {"choice": "yes"}, {"choice": "no"}).state
    assert state.current == "alpha.words"
    switched = engine.step(sv, state, engine.Inbound(language="cy"))
    assert switched.state.lang == "cy"
    assert switched.state.answers == state.answers
    assert switched.state.current == "alpha.words"
    assert switched.replies[-1].text == "Beth wyt ti'n feddwl?"
    assert switched.answers == ()
    # A question waiting for words takes "Cymraeg" as the answer, not as a switch.
    answered = engine.step(sv, switched.state, engine.Inbound(text="Cymraeg"))
    assert [a.text for a in answered.answers] == ["Cymraeg"]
    # On a tap question, the word switches.
    back_to_english = engine.step(sv, answered.state, engine.Inbound(text="English"))
    assert back_to_english.state.lang == "en"
    assert back_to_english.replies[-1].text == "Pick one."


def test_a_language_the_round_lacks_is_refused_in_that_language(welsh_catalogue):
    sv = survey(welsh_catalogue, languages=("en",))
    state = engine.begin(sv).state
    result = engine.step(sv, state, engine.Inbound(language="cy"))
    assert result.state == state
    assert result.replies[0].kind == "error"
    assert "ddim ar gael yn Gymraeg" in result.replies[0].text


def test_tapped_welsh_answer_is_stored_as_given(welsh_catalogue):
    sv = survey(welsh_catalogue)
    state = walk(sv, engine.begin(sv, lang="cy").state, {"choice": "yes"}).state
    result = engine.step(sv, state, engine.Inbound(text="ie"))
    assert [(a.text, a.choice) for a in result.answers] == [("Ie", "yes")]


def test_state_keeps_its_language_through_storage(welsh_catalogue):
    state = engine.begin(survey(welsh_catalogue), lang="cy").state
    assert engine.State.from_dict(state.to_dict()).lang == "cy"
    assert engine.State.from_dict({"stage": "consent"}).lang == "en"  # stored before Welsh


# --------------------------------------------------------------------------- storage


@pytest.fixture
def wrt(rt, welsh_catalogue):
    rt.__dict__["banks"] = welsh_catalogue  # cached_property: use the Welsh test bank
    rt.__dict__.pop("catalogues", None)
    with rt.transaction() as s:
        store.sync_priorities(s, welsh_catalogue)
    return rt


def _open(rt, languages):
    with rt.transaction() as s:
        return store.open_round(
            s,
            rt.catalogue,
            title="Arolwg",
            priorities=["alpha"],
            audiences=["child"],
            languages=languages,
        ).code


def test_respondent_language_is_chosen_at_first_contact_and_recorded(wrt):
    code = _open(wrt, ["cy", "en"])
    with wrt.transaction() as s:
        rnd = store.get_round(s, code)
        assert rnd.languages == ["cy", "en"]
        resp, turn = conversation.start(s, rnd, wrt.context, channel="web", lang="cy")
        rid = resp.id
    assert turn.replies[0].text.startswith("Haia!")
    with wrt.transaction() as s:
        conversation.apply(s, wrt.context, rid, engine.Inbound(choice="yes"), key="k1")
        conversation.apply(s, wrt.context, rid, engine.Inbound(text="ie"), key="k2")
    with wrt.transaction() as s:
        conversation.apply(s, wrt.context, rid, engine.Inbound(language="en"), key="k3")
        turn = conversation.apply(
            s, wrt.context, rid, engine.Inbound(text="mixed: da iawn"), key="k4"
        )
    with wrt.transaction() as s:
        resp = s.get(Respondent, rid)
        rows = s.execute(
            select(Answer.question_id, Answer.text, Answer.language).order_by(Answer.id)
        ).all()
    assert resp.language == "en"
    assert [tuple(r) for r in rows] == [
        ("alpha.police", "Ie", "cy"),
        ("alpha.words", "mixed: da iawn", "en"),
    ]
    assert turn.stored == 1


def test_a_chat_without_a_language_is_asked_in_a_two_language_round(wrt):
    code = _open(wrt, ["en", "cy"])
    with wrt.transaction() as s:
        turn = conversation.join(
            s, wrt.context, code=code, channel="telegram", chat_key="c" * 64, key="tg:1", hint="cy"
        )
    assert turn.replies[0].stage == "language"
    assert turn.replies[0].choices[0] == ("cy", "Cymraeg")


def test_problems_are_worded_in_the_channel_language(wrt):
    turn = conversation.run(wrt.transaction, lambda s: store.get_round(s, "NOPE99"), lang="cy")
    assert turn.problem == conversation.UNKNOWN_ROUND
    assert "allwn ni ddim dod o hyd" in turn.replies[0].text


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        (["en", "fr"], "unknown languages: fr"),
        ([], "unknown languages: (none given)"),
    ],
)
def test_a_round_in_an_unknown_language_is_refused(wrt, languages, message):
    with pytest.raises(store.RoundInvalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        _open(wrt, languages)


def test_a_welsh_round_needs_welsh_for_every_question_it_asks(wrt):
    with wrt.transaction() as s, pytest.raises(store.RoundInvalid) as info:
        store.open_round(
            s,
            wrt.catalogue,
            title="Arolwg",
            priorities=["alpha"],
            audiences=["child", "parent"],
            languages=["cy"],
        )
    assert "alpha.yaml: alpha.police: text for parent" in str(info.value)
