"""Analysis honesty in Welsh: Welsh disclosures are flagged, Welsh names redacted, and the
English-only engines say "unknown" rather than guess at Welsh words."""

from __future__ import annotations

import glob
import json

import pytest
from sqlalchemy import select

from surveys.analysis import disclosure, redact
from surveys.core import engine
from surveys.services import conversation
from surveys.storage import store
from surveys.storage.models import Answer, SafeguardingCase

WELSH = disclosure.Lexicon.from_yaml(disclosure.WELSH_LEXICON_PATH)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Mae nhad yn fy nharo i bob nos", "physical_abuse"),
        ("Mae fy llystad yn fy ngham-drin", "physical_abuse"),
        ("Dw i isio marw", "suicidal"),
        ("Dw i'n meddwl am ladd fy hun", "suicidal"),
        ("dwi wedi torri fy hun eto", "self_harm"),
        ("Dw i ddim yn ddiogel adre", "immediate_danger"),
        ("mae cariad mam yn taro mam", "domestic_abuse"),
        ("Dw i mewn dyled iddyn nhw", "criminal_exploitation"),
        ("Maen nhw'n gwneud fi werthu cyffuriau", "criminal_exploitation"),
        ("Dw i wedi rhedeg i ffwrdd a does dim lle i gysgu", "homelessness_running_away"),
    ],
)
def test_a_welsh_disclosure_is_flagged_in_its_category(text, category):
    assert category in disclosure.check(text).categories


@pytest.mark.parametrize(
    "text", ["Dw i'n marw isio bwyd", "Roedden nhw'n deg gyda fi", "Mae'r ysgol yn iawn"]
)
def test_ordinary_welsh_is_not_flagged(text):
    assert disclosure.check(text).flag is False


def test_the_welsh_patterns_flag_nothing_in_the_english_answers():
    texts = []
    for path in glob.glob("tests/data/*.jsonl"):
        with open(path, encoding="utf-8") as fh:
            texts += [json.loads(line).get("text") or "" for line in fh if line.strip()]
    assert len(texts) > 1000
    assert [t for t in texts if disclosure.check(t, lexicon=WELSH).flag] == []


def test_welsh_first_names_are_redacted_and_welsh_towns_are_not_taken_for_names():
    assert "Ffion" not in redact.redact("Roedd Ffion yn garedig iawn").text
    assert "Gwenllian" not in redact.redact("Diolch i Gwenllian am helpu").text
    assert "Abertawe" in redact.redact("My worker in Abertawe was kind").text


def test_welsh_words_get_unknown_sentiment_and_priority_but_are_still_checked(rt):
    with rt.transaction() as s:
        rnd = store.open_round(
            s,
            rt.catalogue,
            title="Arolwg",
            priorities=["policing"],
            audiences=["child"],
            languages=["cy", "en"],
        )
        welsh, _ = conversation.start(s, rnd, rt.context, channel="web", lang="cy")
        english, _ = conversation.start(s, rnd, rt.context, channel="web", lang="en")
        ids = welsh.id, english.id
    for rid, words in zip(
        ids, ("Mae'r heddlu'n ofnadwy, dw i isio marw", "They were great"), strict=True
    ):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, engine.Inbound(choice="yes"), key=f"{rid}1")
            turn = conversation.apply(s, rt.context, rid, engine.Inbound(text=words), key=f"{rid}2")
    with rt.transaction() as s:
        rows = {a.language: a for a in s.scalars(select(Answer))}
        cases = s.scalars(select(SafeguardingCase)).all()
        assert rows["cy"].sentiment is None and rows["cy"].priority_guess is None
        assert rows["cy"].flagged and [c.answer_id for c in cases] == [rows["cy"].id]
        assert rows["en"].sentiment == "positive"
    assert turn.flagged is False
