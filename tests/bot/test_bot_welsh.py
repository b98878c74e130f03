"""The bot in Welsh: a round in two languages asks first with buttons, Telegram's language_code
only orders them, the choice is kept, and a person can switch at any time."""

from __future__ import annotations

import itertools

import pytest

from surveys.core.engine import default_texts
from surveys.storage import store
from tests.bot.conftest import Chat
from tests.bot.test_bot import answers_of, respondent_of, state_of
from tests.botapi.server import User

TEXTS = default_texts()
_ids = itertools.count(7_100_000_001)


@pytest.fixture
def bilingual(brt):
    with brt.transaction() as s:
        return store.open_round(
            s,
            brt.catalogue,
            title="Arolwg",
            priorities=["policing"],
            audiences=["child", "parent"],
            languages=["en", "cy"],
        ).code


def person(botapi, language_code=None) -> Chat:
    return Chat(botapi, User(next(_ids), "Gwenllian", None, language_code))


def labels(message) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


def test_the_language_is_asked_first_and_the_app_language_only_orders_it(
    brt, bilingual, polling_bot, botapi
):
    polling_bot()
    welsh_phone = person(botapi, "cy")
    asked = welsh_phone.start(f"{bilingual}-child")[-1]
    assert asked["text"] == TEXTS.get("language_prompt", None)
    assert labels(asked) == ["Cymraeg", "English"]
    english_phone = person(botapi, "en-GB")
    assert labels(english_phone.start(f"{bilingual}-child")[-1]) == ["English", "Cymraeg"]
    # The person's choice counts, not the app's language.
    chose = welsh_phone.tap("English", asked)
    assert chose[0]["text"].startswith("Hi! This is Arolwg.")
    rid = respondent_of(brt, welsh_phone).id
    assert state_of(brt, rid).lang == "en"


def test_a_welsh_conversation_with_welsh_words_and_a_switch(brt, bilingual, polling_bot, botapi):
    polling_bot()
    c = person(botapi)
    c.start(f"{bilingual}-child")
    consent = c.tap("Cymraeg")[-1]
    assert "Gelli di hepgor unrhyw gwestiwn" in consent["text"]
    assert labels(consent) == ["Iawn, dechrau", "Dim diolch"]
    first = c.tap("Iawn, dechrau")[-1]
    assert first["text"] == "(1/7) Beth wyt ti'n feddwl o'r heddlu yn yr ardal yma?"
    yes_no = c.say("Maen nhw'n iawn")[-1]
    assert labels(yes_no) == ["Ie", "Na"]
    assert c.say("hepgor")[-1]["text"].startswith("(3/7) ")
    switched = c.say("/english")[-1]
    assert switched["text"] == "(3/7) How can the police help young people stay out of trouble?"
    back = c.say("Cymraeg")  # a question waiting for words takes it as the answer
    assert back[-1]["text"].startswith("(4/7) How could the police talk to you better?")
    rid = respondent_of(brt, c).id
    assert [t for _, t, _ in answers_of(brt, rid)] == ["Maen nhw'n iawn", "Cymraeg"]
    assert state_of(brt, rid).lang == "en"


def test_problems_are_worded_in_the_app_language(brt, polling_bot, botapi):
    polling_bot()
    c = person(botapi, "cy")
    reply = c.say("helo", until=lambda m: True)[-1]
    assert reply["text"] == TEXTS.get("gone", "child", "cy")


def test_withdrawal_is_worded_in_the_conversation_language(brt, bilingual, polling_bot, botapi):
    polling_bot()
    c = person(botapi, "en")
    c.start(f"{bilingual}-child")
    c.tap("Cymraeg")
    asked = c.say("/delete")[-1]
    assert asked["text"].startswith("Bydd hyn yn dileu popeth")
    assert labels(asked) == ["Ie, dileu popeth", "Na, cadw nhw"]
