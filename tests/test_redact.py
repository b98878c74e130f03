"""Promises of the anonymiser (surveys.analysis.redact)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from surveys.analysis.redact import (
    ConfigError,
    RedactConfig,
    Span,
    apply_spans,
    default_config,
    redact,
)

DATA = Path(__file__).parent / "data"
DEV_CONFIG = RedactConfig.from_yaml(DATA / "pii_config.yaml")


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def score(rows: list[dict], config: RedactConfig) -> dict[str, float]:
    """Entity recall (>= 80% of an entity's letters covered), precision, words kept."""
    found = total = predicted = wrong = kept = words = 0
    for row in rows:
        text = row["text"]
        red = redact(text, config=config)
        covered = set()
        for s in red.spans:
            covered.update(range(s.start, s.end))
        gold = set()
        for g in row["spans"]:
            start = g["start"] + (4 if text[g["start"] : g["start"] + 4].lower() == "the " else 0)
            letters = {i for i in range(start, g["end"]) if text[i].isalnum()}
            total += 1
            found += len(letters & covered) >= 0.8 * len(letters)
            gold.update(range(g["start"], g["end"]))
        predicted += len(red.spans)
        wrong += sum(1 for s in red.spans if not gold & set(range(s.start, s.end)))
        for m in re.finditer(r"\w+", text):
            chars = set(range(m.start(), m.end()))
            if not chars & gold:
                words += 1
                kept += not chars & covered
    return {
        "recall": found / total,
        "precision": (predicted - wrong) / max(predicted, 1),
        "kept": kept / words,
    }


def test_dev_set_is_big_enough_and_well_formed():
    rows = _load("pii_dev.jsonl")
    assert len(rows) >= 200
    assert sum(1 for r in rows if not r["spans"]) >= 60
    for row in rows:
        for span in row["spans"]:
            assert row["text"][span["start"] : span["end"]] == span["text"]


def test_dev_set_quality_floor():
    result = score(_load("pii_dev.jsonl"), DEV_CONFIG)
    assert result["recall"] >= 0.97, result
    assert result["kept"] >= 0.95, result
    assert result["precision"] >= 0.95, result


def test_holdout_quality_floor():
    result = score(_load("pii_holdout.jsonl"), DEV_CONFIG)
    assert result["recall"] >= 0.95, result
    assert result["kept"] >= 0.95, result


@pytest.mark.parametrize(
    ("text", "original"),
    [
        ("me and jayden got stopped", "jayden"),
        ("Ellie-Mae told me to come", "Ellie-Mae"),
        ("O'Connor was sound", "O'Connor"),
        ("Mr Patel always listened", "Mr Patel"),
        ("PC Johnson was rude", "PC Johnson"),
        ("miss Lacey helped", "miss Lacey"),
        ("my mate big T is safe", "big T"),
        ("ask for Shaz at the desk", "Shaz"),
    ],
)
def test_names_are_replaced_in_any_case(text, original):
    red = redact(text)
    assert [s.original for s in red.spans if s.category == "name"] == [original]
    assert original not in red.text


@pytest.mark.parametrize(
    "text",
    [
        "Hope it helps",
        "Grace period on fines would help",
        "Will they read this?",
        "i went to the park on saturday",
        "march and april are the worst months",
        "Mark my words",
        "the bill stopped me again",
        "youth court was better than crown court",
        "i got sent to Wetherby for 4 months",
        "primary school was the best",
        "Childline helped me once, 0800 1111",
    ],
)
def test_ordinary_words_are_kept(text):
    assert redact(text).spans == []


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ring me on 07700 900123", "phone"),
        ("call +44 7700 900789", "phone"),
        ("home is (0113) 496 0555", "phone"),
        ("email me at jay.smith@example.com", "email"),
        ("my insta is @kaylz_xo", "handle"),
        ("add me on snap jayjay2k10", "handle"),
        ("my page is https://www.example.com/kacey", "url"),
        ("i was born on 12/03/2010", "date"),
        ("court was on the 18th of september", "date"),
        ("my nhs number is 943 476 5919", "id"),
        ("crime ref 43/11922/24", "id"),
        ("i live in m14 5rt", "postcode"),
        ("they know everyone in SE15", "postcode"),
        ("i go to Kingsmead PRU now", "school"),
        ("St Mary's High kicked me out", "school"),
        ("my nan lives at 42 Cedar Avenue", "address"),
        ("we hang around Brayford estate", "place"),
    ],
)
def test_each_category_is_found(text, category):
    assert category in {s.category for s in redact(text).spans}


def test_placeholders_are_consistent_within_one_answer():
    red = redact("jayden told connor that jayden was coming")
    assert red.text == "[name] told [name 2] that [name] was coming"


def test_nhs_number_needs_a_valid_checksum():
    assert not [s for s in redact("my number is 943 476 5918").spans if s.category == "id"]


def test_allow_list_keeps_the_local_authority_and_deny_list_removes_staff():
    config = RedactConfig.from_text(
        "version: 1\nallow:\n  places: [Brackenfield]\ndeny:\n  staff: [Kez]\n"
        "  schools: [Moorside]\n"
    )
    red = redact("kez from Brackenfield YOT said Moorside is rubbish", config=config)
    assert red.text == "[name] from Brackenfield YOT said [school] is rubbish"


def test_apply_spans_can_undo_a_replacement():
    original = "me and jayden went to Kingsmead PRU"
    red = redact(original)
    assert len(red.spans) == 2
    kept = [s for s in red.spans if s.category != "school"]
    assert apply_spans(original, kept) == "me and [name] went to Kingsmead PRU"
    assert apply_spans(original, red.spans) == red.text
    assert apply_spans(original, []) == original


def test_apply_spans_rejects_overlaps():
    with pytest.raises(ValueError, match="overlap"):
        apply_spans(
            "abcdef", [Span(0, 3, "name", "abc", "[name]"), Span(2, 4, "name", "cd", "[name]")]
        )


def test_spans_point_at_the_original_text():
    text = "text Jordan Blake on 07700900456 or tracey.b@example.org"
    for span in redact(text).spans:
        assert text[span.start : span.end] == span.original


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "<p>hi</p>", "\x00\x01", "ĞİŞ ıi"])
def test_odd_input_never_crashes(text):
    red = redact(text)
    assert isinstance(red.text, str)


def test_default_config_loads():
    assert default_config().allow


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("version: 1\nallow:\n  towns: [x]\n", r"<string>:3: unknown key allow.towns"),
        ("version: 1\ndeny:\n  staff: Kez\n", r"<string>:3: deny.staff must be a list"),
        ("version: 1\nlists: []\n", r"<string>:2: unknown key 'lists'"),
        ("version: 2\n", r"version must be 1"),
        ("allow: [\n", r"not valid YAML"),
    ],
)
def test_bad_config_fails_with_file_and_line(yaml_text, message):
    with pytest.raises(ConfigError, match=message):
        RedactConfig.from_text(yaml_text)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        RedactConfig.from_yaml(tmp_path / "nope.yaml")
