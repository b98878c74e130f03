"""Themes: readable, deterministic groups that a lead can edit; the Child First codebook."""

from __future__ import annotations

import json
from collections import Counter
from math import comb
from pathlib import Path

import pytest

from surveys.analysis import clustering as T

DATA = Path(__file__).parent / "data"


def _dev() -> tuple[list[str], list[str]]:
    rows = [json.loads(x) for x in (DATA / "themes_dev.jsonl").read_text("utf-8").splitlines() if x]
    return [r["text"] for r in rows], [r["theme"] for r in rows]


def _ari(a: list, b: list) -> float:
    n = len(a)
    pairs = sum(comb(v, 2) for v in Counter(zip(a, b, strict=True)).values())
    sa = sum(comb(v, 2) for v in Counter(a).values())
    sb = sum(comb(v, 2) for v in Counter(b).values())
    expected = sa * sb / comb(n, 2)
    return (pairs - expected) / ((sa + sb) / 2 - expected)


def _assignment(themes: list[T.Theme], n: int) -> list[int]:
    out = [-1] * n
    for t in themes:
        for i in t.members:
            assert out[i] == -1, "an answer is in two themes"
            out[i] = t.id
    assert -1 not in out, "an answer is in no theme"
    return out


def test_dev_set_themes_recover_the_labelled_groups():
    texts, gold = _dev()
    themes = T.find_themes(texts)
    assert 3 <= len([t for t in themes if not t.unclear]) <= 8
    pred = _assignment(themes, len(texts))
    assert _ari(gold, pred) >= 0.6
    purity = sum(max(Counter(gold[i] for i in t.members).values()) for t in themes) / len(texts)
    assert purity >= 0.85


def test_labels_are_short_key_phrases_and_representatives_are_members():
    texts, _ = _dev()
    for t in T.find_themes(texts):
        assert t.label and len(t.label) <= 60
        assert "#" not in t.label
        assert set(t.representatives) <= set(t.members)
        assert t.count == len(t.members)
    phrases = {p for t in T.find_themes(texts) for p in t.key_phrases}
    assert phrases & {"police", "stop and search"}, "police answers named in people's words"


def test_same_answers_give_the_same_themes():
    texts, _ = _dev()
    assert T.find_themes(texts) == T.find_themes(list(texts))


def test_five_answers_give_at_most_three_themes():
    answers = [
        "more youth clubs",
        "police stop us too much",
        "help with school",
        "youth club at night",
        "police should be nicer",
    ]
    themes = T.find_themes(answers)
    assert 1 <= len(themes) <= 3
    _assignment(themes, len(answers))


def test_many_answers_stay_within_eight_themes():
    texts, _ = _dev()
    many = [f"{texts[i % len(texts)]} {['tbh', 'innit', '', 'pls'][i % 4]}" for i in range(1200)]
    themes = T.find_themes(many)
    assert 3 <= len([t for t in themes if not t.unclear]) <= 8
    _assignment(themes, len(many))


@pytest.mark.parametrize(
    "answers",
    [[], [""], ["idk", "no", "😂"], ["x" * 100_000, "ok"], ["\x00\xff", "<b>hi</b>", "Привет мир"]],
)
def test_empty_and_odd_input_is_handled(answers):
    themes = T.find_themes(answers)
    if answers:
        _assignment(themes, len(answers))
    else:
        assert themes == []


def test_themes_round_trip_through_json():
    texts, _ = _dev()
    themes = T.find_themes(texts[:30])
    raw = json.loads(json.dumps(T.themes_to_json(themes)))
    assert raw[0]["count"] == themes[0].count
    assert T.themes_from_json(raw) == themes


def test_lead_can_rename_merge_and_move():
    texts, _ = _dev()
    themes = T.find_themes(texts)
    first, second = themes[0], themes[1]
    renamed = T.rename_theme(themes, first.id, "Somewhere to go")
    assert renamed[0].label == "Somewhere to go" and themes[0].label == first.label
    merged = T.merge_themes(renamed, first.id, second.id)
    assert len(merged) == len(themes) - 1
    assert merged[0].count == first.count + second.count
    moved_answer = second.members[0]
    moved = T.move_answer(themes, moved_answer, first.id)
    _assignment(moved, len(texts))
    assert moved_answer in moved[0].members
    with pytest.raises(KeyError):
        T.rename_theme(themes, 999, "x")
    with pytest.raises(ValueError):
        T.merge_themes(themes, first.id, first.id)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("nobody listens to us", "being_listened_to"),
        ("they talk down to you", "respect"),
        ("its racist how they stop us", "fairness_and_discrimination"),
        ("i dont trust the police", "trust_in_police"),
        ("i got excluded from school", "school_and_exclusion"),
        ("i was scared to walk home", "safety_and_fear"),
        ("i need a job and money", "money_and_work"),
        ("my mum helped", "family"),
        ("my mates got me into it", "friends_and_peers"),
        ("nothing to do round here", "things_to_do"),
        ("my worker had my back", "support_from_workers"),
        ("whats the point nothing will change", "nothing_can_change"),
    ],
)
def test_codebook_tags_child_first_themes(text, code):
    assert code in T.tag_codebook(text)


def test_codebook_tags_nothing_in_an_empty_answer():
    assert T.tag_codebook("") == []
    assert T.tag_codebook(None) == []


def test_codebook_is_editable_and_mistakes_name_the_file(tmp_path):
    custom = tmp_path / "codes.yaml"
    custom.write_text(
        "codes:\n  - key: pets\n    label: Pets\n    phrases: [dog, cats]\n", encoding="utf-8"
    )
    codes = T.load_codebook(custom)
    assert T.tag_codebook("my cat and my dog", codes) == ["pets"]
    for body, match in [
        ("codes: []\n", "non-empty"),
        ("codes:\n  - key: Bad Key\n    phrases: [x]\n", "lower_snake_case"),
        ("codes:\n  - key: a\n    phrases: []\n", "list of phrases"),
        ("codes:\n  - key: a\n    phrases: [x]\n  - key: a\n    phrases: [y]\n", "twice"),
        ("codes:\n  - key: a\n    phrases: [x]\n    colour: red\n", "unknown keys"),
    ]:
        custom.write_text(body, encoding="utf-8")
        with pytest.raises(T.CodebookError, match=match) as err:
            T.load_codebook(custom)
        assert "codes.yaml" in str(err.value)
