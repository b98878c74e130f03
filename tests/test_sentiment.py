"""Sentiment: youth slang, negation, mixed answers, peers, quality floors, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from surveys.analysis import sentiment as S

DATA = Path(__file__).parent / "data"


def _load(name: str) -> tuple[list[str], list[str]]:
    rows = [json.loads(x) for x in (DATA / name).read_text(encoding="utf-8").splitlines() if x]
    return [r["text"] for r in rows], [r["label"] for r in rows]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("not bad", "positive"),
        ("not bad tbh", "positive"),
        ("it was sick", "positive"),
        ("proper good", "positive"),
        ("they were sound", "positive"),
        ("my worker is well safe", "positive"),
        ("dead good", "positive"),
        ("bare long", "negative"),
        ("school is long", "negative"),
        ("it was dead", "negative"),
        ("thats peak", "negative"),
        ("hate it", "negative"),
        ("i felt sick in the cell", "negative"),
        ("it does my head in", "negative"),
        ("nobody listens to us", "negative"),
        ("i dont like it", "negative"),
        ("i like it", "positive"),
        ("it was like boring", "negative"),
        ("it was ok", "neutral"),
        ("idk", "neutral"),
        ("no", "neutral"),
        ("more youth clubs", "neutral"),
        ("they should listen more", "neutral"),
        ("speak to us better, have respect, listen", "neutral"),
        ("🔥🔥", "positive"),
        ("😡", "negative"),
    ],
)
def test_youth_usage_is_read_the_way_young_people_mean_it(text, label):
    assert S.score(text).label == label


def test_mixed_answer_is_neutral_not_strongly_one_way():
    result = S.score("the police were nice but the cell was horrible")
    assert result.label == "neutral"
    assert result.mixed is True
    assert abs(result.score) < 0.3
    # VADER, for comparison, calls it clearly negative.
    assert S.score("the police were nice but the cell was horrible", "vader").label == "negative"


def test_mixed_can_be_kept_as_a_lean_when_asked():
    result = S.score("the police were nice but the cell was horrible", mixed_as_neutral=False)
    assert result.label == "negative" and result.mixed is True


def test_negation_flips_and_intensifiers_strengthen():
    assert S.score("good").score > 0 > S.score("not good").score
    assert S.score("proper good").score > S.score("good").score
    assert S.score("bare boring").score < S.score("boring").score


def test_neutral_band_is_configurable():
    assert S.score("good").label == "positive"
    assert S.score("good", neutral_band=0.9).label == "neutral"
    assert S.score("it was ok", neutral_band=0.0).label == "positive"


@pytest.mark.parametrize("engine", S.ENGINES)
def test_every_engine_returns_a_label_and_a_bounded_score(engine):
    result = S.score("the staff were kind and helpful", engine)
    assert result.label in S.LABELS
    assert -1.0 <= result.score <= 1.0
    assert result.to_dict()["label"] == result.label


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown sentiment engine"):
        S.score("good", "magic")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 100_000,
        "good " * 20_000,
        "\x00\x01\x02\ufffd\ufffd",
        "😂😂😂",
        "<b>great</b> <script>alert(1)</script>",
        "Привет это хорошо 你好 ok",
        "!!!!!!!!",
        ":(",
        "\u2028\u2029\r\n",
        None,
        42,
    ],
)
def test_odd_input_never_crashes(text):
    for engine in ("best", "vader", "textblob"):
        result = S.score(text, engine)
        assert result.label in S.LABELS


def test_same_text_gives_the_same_answer():
    text = "they was fair with me but the cell was cold"
    assert S.score(text) == S.score(text)


def test_dev_set_quality_floor_and_margin_over_peers():
    texts, gold = _load("sentiment_dev.jsonl")
    assert len(texts) >= 150
    ours = S.macro_f1(gold, [r.label for r in S.label_many(texts)])
    vader = S.macro_f1(gold, [r.label for r in S.label_many(texts, "vader")])
    textblob = S.macro_f1(gold, [r.label for r in S.label_many(texts, "textblob")])
    assert ours >= 0.85
    assert ours >= max(vader, textblob) + 0.2


def test_holdout_set_never_tuned_on_still_beats_peers():
    texts, gold = _load("sentiment_holdout.jsonl")
    ours = S.macro_f1(gold, [r.label for r in S.label_many(texts)])
    peers = max(
        S.macro_f1(gold, [r.label for r in S.label_many(texts, e)]) for e in ("vader", "textblob")
    )
    assert ours >= 0.75
    assert ours >= peers + 0.1


def test_tag_sentiment_adds_columns_to_a_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"answer": ["it was sick", "hate it", None]})
    out = S.tag_sentiment(df)
    assert list(out["sentiment"]) == ["positive", "negative", "neutral"]
    assert "sentiment" not in df.columns


def test_trained_layer_is_compact_and_loads():
    model = S._model()
    assert model is not None, "data/sentiment_model.json should ship with the package"
    assert 5 <= len(model["weights"]) <= 100
    assert S.score("awful, the worst day", "trained").label == "negative"


def test_slang_file_can_be_edited_and_mistakes_name_the_file(tmp_path):
    good = tmp_path / "slang.yaml"
    good.write_text("words:\n  zorbly: 3.0\nphrases:\n  well zorbly: 3.5\n", encoding="utf-8")
    lex = S.load_lexicon(good)
    assert lex.words["zorbly"] == 3.0
    bad = tmp_path / "bad.yaml"
    for body, match in [
        ("words:\n  yes: 1\n", "quotes"),
        ("words:\n  good: lots\n", "must be a number"),
        ("words:\n  good: 9\n", "between -4 and 4"),
        ("phrases:\n  single: 1\n", "two or more words"),
        ("wordz: {}\n", "unknown sections"),
        ("contextual:\n  long: {valence: -1}\n", "needs after"),
        ("negators: [not, no]\n", "quote"),
        ("[unclosed\n", "cannot be read"),
    ]:
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(S.SlangError, match=match) as err:
            S.load_lexicon(bad)
        assert "bad.yaml" in str(err.value)
