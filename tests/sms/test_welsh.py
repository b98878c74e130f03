"""Welsh by text message: chosen at the start by keyword, in Unicode parts, accents kept."""

from __future__ import annotations

import pytest

from sms import render
from surveys.core import catalogue as cat
from surveys.core import engine, sms_text
from surveys.core.catalogue import default_catalogue
from surveys.core.vocabulary import AUDIENCES
from surveys.runtime import Runtime
from surveys.storage import store
from tests.sms.conftest import Phone, notify_settings
from tests.test_languages import BANK, write

SMS_TEXTS = [name for name in engine.default_texts().names() if name.startswith("sms_")]


@pytest.mark.parametrize("name", SMS_TEXTS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_our_welsh_texts_fit_three_parts_and_keep_their_accents(name, audience):
    text = engine.default_texts().get(name, audience, "cy", minutes=5, code="ABCD-EFGH")
    assert text != engine.default_texts().get(name, audience, "en", minutes=5, code="ABCD-EFGH")
    assert sms_text.normalise(text) == text  # nothing of ours is stripped or swapped
    assert sms_text.count(text).parts <= 3, text


def welsh_questions(catalogue):
    for bank in catalogue.banks:
        for q in bank.questions:
            for audience in q.audiences:
                if any(m.endswith(f"for {audience}") for m in q.missing("cy")):
                    continue
                choices = tuple((o.key, o.label(audience, "cy")) for o in q.choices())
                yield (
                    q,
                    audience,
                    engine.Reply(
                        "prompt",
                        q.text_for(audience, "cy") or "",
                        choices,
                        question_id=q.id,
                        progress=(99, 99),
                        stage="question",
                        help=q.help_for(audience, "cy"),
                    ),
                )


def test_every_welsh_question_fits_three_parts(tmp_path):
    walked = 0
    for catalogue in (default_catalogue(), cat.load_catalogue(write(tmp_path / "b", BANK))):
        for q, audience, reply in welsh_questions(catalogue):
            [text] = render.texts([reply], audience, "cy")
            assert sms_text.count(text).parts <= 3, f"{q.id} ({audience}): {text}"
            walked += 1
    assert walked >= 3  # the test bank's Welsh questions at least


@pytest.fixture
def welsh_phone(rt, tmp_path, make_app, notify):
    banks = write(tmp_path / "welsh-banks", BANK)
    app = make_app(notify_settings(notify), banks_dir=banks)
    wrt: Runtime = app.extensions["yjvoice"]
    with wrt.transaction() as s:
        store.sync_priorities(s, wrt.catalogue)
        code = store.open_round(
            s,
            wrt.catalogue,
            title="Arolwg",
            priorities=["alpha"],
            audiences=["child"],
            languages=["cy", "en"],
        ).code
    return Phone(app.test_client(), notify, "notify"), code


def test_a_young_person_answers_in_welsh_chosen_by_keyword(welsh_phone):
    p, code = welsh_phone
    [consent] = p.say(f"{code} cymraeg")
    assert "Ateba IE i ddechrau, STOP i stopio." in consent.body
    [first] = p.say("ie")
    assert "Ydy'r heddlu wedi dy stopio?" in first.body and "\n1 Ie\n2 Na" in first.body
    [second] = p.say("1")
    assert "Beth wyt ti'n feddwl?" in second.body
    [help_] = p.say("cymorth")
    assert "HEPGOR" in help_.body and "NÔL" in help_.body and "0800 1111" in help_.body
    assert sms_text.count(help_.body).encoding == "UCS-2"  # ô: Unicode parts, accent kept


def test_a_two_language_round_asks_first_and_english_works_too(welsh_phone):
    p, code = welsh_phone
    [ask] = p.say(code)
    assert "Choose a language" in ask.body and "\n1 " in ask.body and "\n2 " in ask.body
    [consent] = p.say("English")
    assert "Reply YES to start, STOP to stop." in consent.body
    p.say("yes")
    [switched] = p.say("CYMRAEG")
    assert "Ydy'r heddlu wedi dy stopio?" in switched.body


@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_welsh_thank_you_with_999_fits_three_parts(audience):
    done = engine.Reply("info", "", stage="done")
    [text] = render.texts([done], audience, "cy", code="ABCD-EFGH")
    assert "WITHDRAW ABCD-EFGH" in text and "999" in text
    assert sms_text.count(text).parts <= 3, text
