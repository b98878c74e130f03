"""Welsh is complete and plain: every question, engine text and typed word has Welsh, and
what a young person reads in Welsh is short.

No readability formula for Welsh is packaged (textstat has none), so a young person's Welsh
is held to what can be counted: at most 20 words a sentence, no word longer than 12
letters, and, in a text of five words or more, an average word length of at most 5.5
letters. The fixed terms of docs/cy-glossary.md a young person needs ("gwasanaeth cyfiawnder
ieuenctid") are left out of the word checks: they cannot be shortened. Each checker is a
plain function, run on the packaged texts and on bad input, so every rule is shown to fail.
"""

from __future__ import annotations

import re

import pytest

from surveys.core.catalogue import load_catalogue
from surveys.core.engine import default_texts
from surveys.core.vocabulary import AUDIENCES, WELSH

CATALOGUE = load_catalogue()
TEXTS = default_texts()
MAX_WORDS = 20
MAX_LETTERS = 12
MAX_MEAN_LETTERS = 5.5
MIN_WORDS_FOR_MEAN = 5
FIXED_TERMS = ("gwasanaeth cyfiawnder ieuenctid",)
FORMAT = {"title": "Arolwg", "code": "ABCD-EFGH", "limit": "2,000", "length": "3,000"}
FORMAT.update(
    phone="01234 567890", helpline="Meic 080880 23456", minutes="5", url="https://x.org/r/A/changed"
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def too_long(text: str) -> list[str]:
    """Return the problems with a young person's Welsh text (empty when it is plain)."""
    problems = []
    for sentence in re.split(r"[.!?:;\n]", text):
        if len(sentence.split()) > MAX_WORDS:
            problems.append(f"{len(sentence.split())} words: {sentence.strip()}")
    plain = text
    for term in FIXED_TERMS:
        plain = re.sub(term, " ", plain, flags=re.IGNORECASE)
    words = [w.replace("'", "").replace("’", "") for w in _WORD.findall(plain)]
    problems += [f"long word: {w}" for w in words if len(w) > MAX_LETTERS]
    if len(words) >= MIN_WORDS_FOR_MEAN and sum(map(len, words)) / len(words) > MAX_MEAN_LETTERS:
        problems.append(f"long words on average: {text}")
    return problems


def child_welsh() -> list[tuple[str, str]]:
    """Return (where, text) for every Welsh text a young person may read."""
    out = []
    for bank in CATALOGUE.banks:
        for q in bank.questions:
            if q.text_for("child") is None:
                continue
            out.append((q.id, q.text_for("child", WELSH)))
            if q.help_for("child"):
                out.append((f"{q.id} help", q.help_for("child", WELSH)))
            out += [(f"{q.id} {o.key}", o.label("child", WELSH)) for o in q.choices()]
    for name in TEXTS.names():
        out.append((name, TEXTS.get(name, "child", WELSH, **FORMAT)))
    return out


def test_every_bank_question_has_welsh():
    assert CATALOGUE.missing(WELSH) == []


def test_a_question_without_welsh_is_named(tmp_path):
    (tmp_path / "alpha.yaml").write_text(
        "key: alpha\ntitle: Alpha\norder: 1\ndescription: d\nquestions:\n"
        "  - id: alpha.q\n    type: text\n    text: {child: {en: Hi, cy: Haia}, parent: Hi}\n",
        encoding="utf-8",
    )
    assert load_catalogue(tmp_path).missing(WELSH) == [
        "alpha.yaml: title",
        "alpha.yaml: alpha.q: text for parent",
    ]


def test_every_engine_text_has_welsh_for_every_audience():
    missing = []
    for name in TEXTS.names():
        for audience in (*AUDIENCES, None):
            english, welsh = TEXTS.get(name, audience), TEXTS.get(name, audience, WELSH)
            if english == welsh and name != "language_prompt":
                missing.append(f"{name} for {audience}")
    assert missing == []


def test_every_typed_word_meaning_has_welsh_words():
    typed = TEXTS._data["typed"]
    assert {m for m, words in typed.items() if not words.get(WELSH)} == set()


def test_welsh_for_young_people_is_short():
    problems = [f"{where}: {p}" for where, text in child_welsh() for p in too_long(text)]
    assert problems == []


@pytest.mark.parametrize(
    "text",
    [
        "Un dau tri pedwar pump chwech saith wyth naw deg un dau tri pedwar pump chwech saith "
        "wyth naw deg un.",
        "Mae hyn yn anghyfansoddiadol.",
        "Gwasanaethau cymdeithasol cenedlaethol newydd ardderchog.",
    ],
)
def test_long_welsh_is_caught(text):
    assert too_long(text) != []
