"""Priority mapping: clear answers land on their priority, "none" when nothing fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from surveys.analysis import priorities as C
from surveys.core.catalogue import Bank, Catalogue

DATA = Path(__file__).parent / "data"
NATIONAL = {
    "over_represented_groups",
    "policing",
    "prevention",
    "diversion",
    "education",
    "restorative_approaches_and_victims",
    "serious_violence_and_exploitation",
    "detention_in_police_custody",
    "remands",
    "use_of_custody_and_resettlement",
    "working_with_families",
}


def _dev() -> list[dict]:
    return [
        json.loads(x) for x in (DATA / "priorities_dev.jsonl").read_text("utf-8").splitlines() if x
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("got stopped and searched for nothing again", "policing"),
        ("more youth clubs and stuff to do", "prevention"),
        ("i got a caution instead of court", "diversion"),
        ("kicked out of school in year 10", "education"),
        ("i wrote a letter to say sorry to the victim", "restorative_approaches_and_victims"),
        ("kids carry knives to feel safe", "serious_violence_and_exploitation"),
        ("the appropriate adult came to the police station", "detention_in_police_custody"),
        ("i was remanded for two months", "remands"),
        ("when i got out of the yoi i had nowhere to live", "use_of_custody_and_resettlement"),
        ("my mum needs support too", "working_with_families"),
        ("black kids get treated worse", "over_represented_groups"),
    ],
)
def test_clear_answers_map_to_their_priority(text, key):
    result = C.classify(text)
    assert result.priority == key
    assert 0.0 < result.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    ["idk", "", "ok", "lol", "😂😂", "\x00\xff garbage", "yes", "the weather was nice", None],
)
def test_nothing_fits_gives_none(text):
    assert C.classify(text).priority == C.NONE


def test_scores_cover_every_national_priority():
    result = C.classify("police")
    assert set(result.scores) >= NATIONAL
    assert result.to_dict()["priority"] == "policing"


def test_dev_set_quality_floor():
    rows = _dev()
    assert len(rows) >= 150
    predicted = [C.classify(r["text"]).priority for r in rows]
    accuracy = sum(p == r["priority"] for p, r in zip(predicted, rows, strict=True)) / len(rows)
    assert accuracy >= 0.9
    for key in NATIONAL | {C.NONE}:
        gold = [r["priority"] == key for r in rows]
        hits = [p == key for p in predicted]
        tp = sum(g and h for g, h in zip(gold, hits, strict=True))
        recall = tp / sum(gold)
        precision = tp / max(1, sum(hits))
        assert recall >= 0.75, key
        assert precision >= 0.75, key


def test_local_priority_from_the_banks_works_through_its_description():
    local = Bank(
        key="first_time_entrants",
        title="Reducing first-time entrants",
        order=20,
        description="Stopping children entering the justice system for the first time; "
        "early intervention and triage before a first conviction.",
        questions=(),
    )
    policing = Bank("policing", "Policing", 2, "Experience of police, stop and search.", ())
    cat = Catalogue((policing, local))
    result = C.classify("early intervention before a first conviction", cat)
    assert result.priority == "first_time_entrants"
    assert set(result.scores) == {"policing", "first_time_entrants"}
    # The national lexicon still sharpens national priorities in a custom catalogue.
    assert C.classify("the feds pulled me up", cat).priority == "policing"


def test_same_text_gives_the_same_answer():
    text = "police station cell overnight"
    assert C.classify(text) == C.classify(text)


def test_huge_answer_does_not_crash():
    assert C.classify("police " * 50_000).priority == "policing"


def test_tag_priorities_adds_columns():
    pd = pytest.importorskip("pandas")
    out = C.tag_priorities(pd.DataFrame({"answer": ["more youth clubs", "idk"]}))
    assert list(out["priority_guess"]) == ["prevention", "none"]


def test_embeddings_engine_ships_in_the_default_install():
    assert C.classify("the police stopped me", engine="embeddings").priority in NATIONAL


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown classify engine"):
        C.classify("x", engine="magic")


def test_stemming_meets_word_forms():
    assert C.stem("searched") == C.stem("searches") == C.stem("search")
    assert C.stem("stopped") == C.stem("stop")


def test_lexicon_mistakes_name_the_file(tmp_path):
    bad = tmp_path / "pri.yaml"
    for body, match in [
        ("Policing: {terms: {police: 1}}\n", "lower_snake_case"),
        ("policing: {terms: {police: 9}}\n", "weight"),
        ("policing: {terms: {yes: 1}}\n", "quotes"),
        ("policing: {words: {}}\n", "unknown keys"),
        ("policing: [police]\n", "mapping"),
    ]:
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(C.PriorityLexiconError, match=match) as err:
            C.load_lexicon(bad)
        assert "pri.yaml" in str(err.value)
