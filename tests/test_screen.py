"""The lexicon's RE2 screens (surveys.analysis.screen) never change what ``check`` finds.

A screen may let through text its category does not match (Python decides then), but it
must never stop text the category does match: that would be a missed disclosure. These
tests compare ``check`` with and without the screens on the labelled disclosures, on
generated text and on the inputs that broke things before.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.analysis import screen
from surveys.analysis.disclosure import Lexicon, check, default_lexicon

DATA = Path(__file__).parent / "data"


def _unscreened() -> Lexicon:
    """The product's lexicon with every screen taken away: Python reads every category."""
    lexicon = default_lexicon()
    bare = Lexicon(*(getattr(lexicon, name) for name in Lexicon.__dataclass_fields__))
    bare.__dict__["screens"] = (None,) * len(lexicon.patterns)  # the cached property, preset
    return bare


BARE = _unscreened()


def _same(text: str) -> None:
    assert check(text).as_dict() == check(text, lexicon=BARE).as_dict(), text


def test_every_category_has_a_screen() -> None:
    assert len(default_lexicon().screens) == len(default_lexicon().patterns)
    assert all(s is not None for s in default_lexicon().screens)


def _disclosures() -> list[str]:
    texts = []
    for path in [*sorted(DATA.glob("voice*/*.jsonl")), DATA / "safeguard_dev.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["flag"]:
                texts.append(row["text"])
    return texts


def test_labelled_disclosures_are_found_the_same_way() -> None:
    texts = _disclosures()[::2]  # every other one: the whole set is measured in bench/
    assert len(texts) > 3000
    differ = [t for t in texts if check(t).as_dict() != check(t, lexicon=BARE).as_dict()]
    assert differ == []


def _words() -> list[str]:
    """Words and short phrases the patterns are made of, so generated text can match them."""
    words: set[str] = set()
    for _, pattern in default_lexicon().patterns[:15]:
        words.update(re.findall(r"[a-z]{2,}(?: [a-z]{2,}){0,2}", pattern.pattern))
    return sorted(words)


WORDS = _words()
piece = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.text(max_size=6),
    st.sampled_from(["  ", ". ", "\n", "'", "!!", " n ", "wiv", "1", "é", "😭", "\u00a0", "ß"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(piece, min_size=1, max_size=40).map(" ".join))
def test_generated_text_is_found_the_same_way(text: str) -> None:
    _same(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1" * 20000,
        "\ud800 he hits me",  # a lone surrogate: no screen, Python reads every category
        "İstanbul he hits me",  # lower-cases to two characters
        "<b>he hits me</b>",
        "ⓗⓔ ⓗⓘⓣⓢ ⓜⓔ he hits me",
        "i want to die " * 2000,
        "im sooooo done. nobody at home has fed me in days",
    ],
)
def test_awkward_text_is_found_the_same_way(text: str) -> None:
    _same(text)


def test_lookarounds_and_word_edges_are_dropped() -> None:
    rx = screen.translate(re.compile(r"(?<![a-z])(?:hits? me)(?![a-z])\b"))
    assert "?<" not in rx and "?!" not in rx and "\\b" not in rx
    assert screen.compile_screen(re.compile(r"(?<![a-z])hits? me(?![a-z])"))(b"xhits mex")


def test_a_gap_keeps_the_longest_run_on_either_side() -> None:
    compiled = screen.compile_screen(re.compile(r"he (?:\w+ ){0,4}hurts me badly"))
    assert compiled is not None
    assert compiled(b"hurts me badly")  # the longer side alone lets text through
    assert not compiled(b"he said hello")


def test_classes_keep_every_non_ascii_character() -> None:
    compiled = screen.compile_screen(re.compile(r"\w hits me"))
    assert compiled is not None
    assert compiled("ŵ hits me".encode())
    assert screen.compile_screen(re.compile(r"[^a-z]x"))("éx".encode())


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?i)HITS me", r"he(?s:.)hits", r"(?i:Hits) me"])
def test_what_a_screen_cannot_model_leaves_python_to_decide(pattern: str) -> None:
    assert screen.compile_screen(re.compile(pattern)) is None
