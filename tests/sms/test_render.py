"""What a text costs, counted as Notify bills it, and what our texts look like.

Pure: no database, no network.
"""

from __future__ import annotations

import pytest
import textstat

from sms import render
from surveys.core import engine, sms_text
from surveys.core.catalogue import default_catalogue
from surveys.core.vocabulary import AUDIENCES


@pytest.mark.parametrize(
    "text, encoding, characters, parts",
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("[" * 80, "GSM-7", 160, 1),  # the extension table counts twice
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 159 + "^", "GSM-7", 161, 2),
        ("é" * 160, "GSM-7", 160, 1),  # é is in GSM-7
        ("ŵ" * 70, "UCS-2", 70, 1),  # Welsh w-circumflex is not
        ("ŵ" * 71, "UCS-2", 71, 2),
        ("ŵ" * 134, "UCS-2", 134, 2),
        ("ŵ" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
        ("“Quoted” – dash…", "GSM-7", 18, 1),  # Notify swaps these for GSM-7 ones
    ],
)
def test_parts_are_counted_as_notify_bills_them(text, encoding, characters, parts):
    counted = sms_text.count(text)
    assert (counted.encoding, counted.characters, counted.parts) == (encoding, characters, parts)


def test_notify_refuses_over_918_characters():
    assert not sms_text.count("a" * 918).too_long
    assert sms_text.count("a" * 919).too_long
    assert sms_text.count("a" * 918).parts == 6


def test_normalise_keeps_our_texts_in_gsm7_but_never_strips_welsh_accents():
    assert sms_text.normalise("It’s “fine” — really… 👍") == 'It\'s "fine" - really...'
    assert sms_text.is_gsm7(sms_text.normalise("Thanks 🙏🏽 for that ✨"))
    welsh = "Diolch! Beth ŵyt ti'n feddwl? Dŵr, tŷ, â, ê"
    assert sms_text.normalise(welsh) == welsh
    assert sms_text.count(welsh).encoding == "UCS-2"


def _question_replies():
    catalogue = default_catalogue()
    for bank in catalogue.banks:
        for question in bank.questions:
            for audience in AUDIENCES:
                if question.text_for(audience) is None:
                    continue
                choices = tuple((o.key, o.label(audience)) for o in question.choices())
                reply = engine.Reply(
                    "prompt",
                    question.text_for(audience) or "",
                    choices,
                    question_id=question.id,
                    priority=question.priority,
                    progress=(99, 99),  # the widest progress a round can show
                    accepts_text=question.type == "text",
                    stage="question",
                    help=question.help_for(audience),
                )
                yield pytest.param(reply, audience, id=f"{question.id}-{audience}")


@pytest.mark.parametrize("reply, audience", list(_question_replies()))
def test_every_question_of_every_bank_fits_two_parts(reply, audience):
    [text] = render.texts([reply], audience)
    counted = sms_text.count(text)
    assert counted.encoding == "GSM-7", text
    assert counted.parts <= 2, f"{counted.parts} parts: {text}"


SMS_CHILD_TEXTS = [
    "sms_invite",
    "sms_consent",
    "sms_pick_one",
    "sms_skipped",
    "sms_help",
    "sms_help_idle",
    "sms_gone",
    "sms_declined",
    "sms_opted_in",
    "sms_welcome_back",
    "sms_thanks",
]


@pytest.mark.parametrize("name", SMS_CHILD_TEXTS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_our_own_texts_are_gsm7_and_at_most_two_parts(name, audience):
    text = engine.default_texts().get(name, audience, minutes=5, code="ABCD-EFGH")
    counted = sms_text.count(text)
    assert counted.encoding == "GSM-7" and counted.parts <= 2, text


@pytest.mark.parametrize("name", SMS_CHILD_TEXTS)
def test_child_text_wording_is_plain(name):
    text = engine.default_texts().get(name, "child", minutes=5, code="ABCD-EFGH")
    for sentence in [s for s in text.replace("!", ".").replace("?", ".").split(".") if s.strip()]:
        assert len(sentence.split()) <= 25, sentence
    assert textstat.flesch_kincaid_grade(text) <= 6, text


def test_invitations_never_name_the_topic_or_the_service():
    for audience in AUDIENCES:
        text = engine.default_texts().get("sms_invite", audience, minutes=5).lower()
        for word in ("youth", "justice", "yot", "police", "offend", "court", "crime", "plan"):
            assert word not in text


def test_one_delivery_is_one_text_with_the_re_ask_before_the_question():
    question = engine.Reply(
        "prompt", "How was it?", (("a", "Good"), ("b", "Bad")), progress=(2, 5), stage="question"
    )
    error = engine.Reply("error", engine.default_texts().get("pick_one", "child"))
    [text] = render.texts([error, question], "child")
    assert text == (
        "Sorry, I didn't get that. Reply with a number, like 1, or SKIP.\n\n"
        "(2/5) How was it?\n1 Good\n2 Bad"
    )
