"""Promises of the learned reading (surveys.analysis.assess) and the two safeguarding tiers."""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from surveys.analysis import assess, disclosure, guards, language, pipeline

DATA = Path(__file__).parent / "data"
VOICE = DATA / "voice"


def test_the_trained_heads_ship_with_the_package():
    h = assess.heads()
    assert h.categories == disclosure.CATEGORIES
    assert "harm_by_professional" in h.categories
    assert h.pri_labels[-1] == "none"
    assert 0.0 < h.threshold < 1.0
    assert h.meta["guards"] == list(guards.NAMES)
    # The neighbour banks: unit vectors of the model's width, both sides present.
    assert h.nn_pos.shape[1] == h.nn_neg.shape[1] == 384
    assert len(h.nn_pos) > 1000 and len(h.nn_neg) > 1000
    assert np.allclose(np.linalg.norm(h.nn_pos, axis=1), 1.0, atol=1e-2)
    assert h.nn_k >= 1 and h.nn_beta > 0


def test_word_grams_are_the_same_slots_in_every_process_and_read_text_speak_as_words():
    a = assess.word_grams("im TOOLED up rn", 2048)
    assert a.shape == (2048,) and a.dtype == np.float32
    assert int(a.sum()) == 7  # 4 words + 3 pairs, unless two share a slot
    # The lexicon's normalising first: case, apostrophes and stretched letters.
    assert np.array_equal(a, assess.word_grams("I'm tooled up rn", 2048))
    assert np.array_equal(assess.word_grams("sooooo", 2048), assess.word_grams("so", 2048))
    # CRC-32, not Python's salted hash: the slot of a word is fixed.
    assert assess.word_grams("tooled", 2048).argmax() == zlib.crc32(b"tooled") % 2048
    assert not assess.word_grams("", 2048).any()


def test_the_shipped_net_reads_the_words_it_was_trained_with():
    h = assess.heads()
    assert h.ngram_dim == h.meta["ngram_dim"] > 0
    width = 384 + len(guards.NAMES) + h.ngram_dim
    assert h.sg_w.shape == (width,) and h.cat_w.shape[0] == width


def _unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_neighbours_say_which_side_a_sentence_sits_on():
    pos, neg = _unit_rows(40, 1), _unit_rows(60, 2)
    near_pos = pos[3] + 0.05 * neg[0]
    near_neg = neg[7] + 0.05 * pos[0]
    vecs = np.stack([near_pos / np.linalg.norm(near_pos), near_neg / np.linalg.norm(near_neg)])
    m = assess.neighbour_margins(vecs, pos, neg, k=1)
    assert m[0] > 0.5 and m[1] < -0.5
    # k larger than a bank, and empty banks, are not errors
    assert assess.neighbour_margins(vecs, pos[:2], neg, k=5).shape == (2,)
    assert not assess.neighbour_margins(vecs, pos[:0], neg, k=5).any()
    # more rows than one product takes give the same margins as one at a time
    many = _unit_rows(assess.NN_ROWS + 9, 3)
    whole = assess.neighbour_margins(many, pos, neg, k=3)
    one = [assess.neighbour_margins(many[i : i + 1], pos, neg, k=3)[0] for i in (0, len(many) - 1)]
    assert np.allclose([whole[0], whole[-1]], one, atol=1e-6)


@pytest.mark.parametrize("k", [1, 5, 12])
def test_the_nearest_are_found_in_blocks_exactly(k):
    # A bank large enough to be searched in blocks (and a few columns left over), with
    # the nearest rows bunched in one block, spread over many and tied: the blocks give
    # exactly the mean of each row's k largest similarities.
    rng = np.random.default_rng(k)
    blocks = 80  # more than 4 k: not the small bank's plain partition
    sims = rng.uniform(-0.2, 0.4, size=(7, assess.NN_BLOCK * blocks + 17)).astype(np.float32)
    sims[0, 5 : 5 + blocks * k : blocks] = 0.9  # all in one block (block j: j, j + 80, ...)
    sims[1, :k] = 0.9  # in k different blocks
    sims[2, -k:] = 0.9  # among the columns left over
    sims[3, :] = 0.1  # all tied
    want = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
    assert np.allclose(assess._top_mean(sims, k), want, atol=1e-7)


def test_the_concern_score_adds_the_neighbours_to_the_net():
    logits = np.array([0.5, -1.0, 2.0, 0.0])  # the whole answer first
    alone, best = assess.concern_score(logits, np.zeros(4), beta=40.0)
    assert alone == pytest.approx(1 / (1 + np.exp(-2.0))) and best == 2
    # a sentence among known disclosures raises the score and is the one pointed at
    raised, best = assess.concern_score(logits, np.array([0.0, 0.2, 0.0, 0.0]), beta=40.0)
    assert raised > alone and best == 1
    lowered, _ = assess.concern_score(logits, np.full(4, -0.1), beta=40.0)
    assert lowered < alone
    # a one-span answer points at itself
    assert assess.concern_score(np.array([1.0]), np.array([0.0]), beta=40.0)[1] == 0


@pytest.mark.parametrize(
    "text",
    [
        # (was "i have not eaten in three days ...": the lexicon flags it since its eating
        # patterns grew, so it no longer tests the net)
        # (and "nobody at home notices if i come back or not ...": its neglect pattern since
        # W23's round; and "no one asks where i go at night, i been stopping at a lads flat i
        # met online": staying with a man met online, since W22's round)
        "the man at the shop gives me free stuff and says its our secret",
        "my uncle comes in when everyone is asleep and says its our thing and not to tell",
    ],
)
def test_the_recall_net_raises_a_possible_concern(text):
    assert not disclosure.check(text).flag  # no keyword for the lexicon
    a = pipeline.analyse(text, question_priority="education", question_id="education.experience")
    assert a.flagged and a.flag_tier == pipeline.POSSIBLE
    assert (
        a.flag_categories and a.flag_score is not None and a.flag_score >= assess.heads().threshold
    )
    start, end = a.flag_trigger[0]
    assert 0 <= start < end <= len(text)
    assert not a.shows_help_now  # the footer's help is enough for a possible concern


def test_a_hard_flag_shows_help_now_and_names_the_words():
    text = "the youth club is good. my dad hits me when hes drunk"
    a = pipeline.analyse(text)
    assert a.flag_tier == pipeline.FLAG and a.shows_help_now
    assert any(text[s:e] == "my dad hits me" for s, e in a.flag_trigger)


def test_the_net_never_removes_a_hard_flag():
    hard = disclosure.check("i want to kms")
    calm = assess.Assessment(concern=False, score=0.01)
    found = pipeline.safeguarding(hard, calm)
    assert found["flagged"] and found["flag_tier"] == pipeline.FLAG
    assert found["flag_categories"] == ["suicidal"]


@pytest.mark.parametrize(
    "text",
    [
        "the police were fair with me when i got arrested",
        "more youth clubs and stuff to do in the holidays",
        "my worker is sound, she actually listens",
    ],
)
def test_ordinary_answers_are_not_concerns(text):
    a = pipeline.analyse(text)
    assert not a.flagged and a.flag_tier is None


@pytest.mark.parametrize(
    "text",
    [
        "Dw i ddim yn hoffi ysgol, mae o yn ddiflas",
        "Мене б'ють вдома",
        "أبي يضربني",
        "the police were ok Мене б'ють вдома",
    ],
)
def test_text_not_in_english_is_never_passed_as_ok(text):
    assert not language.is_english(text)
    a = pipeline.analyse(text)
    assert a.flagged
    assert a.flag_categories == [assess.NOT_READ]


def test_english_text_speak_is_read_as_english():
    files = sorted(VOICE.glob("*.jsonl")) + sorted((DATA / "voice2").glob("*.jsonl"))
    rows = [json.loads(x) for f in files for x in f.read_text().splitlines() if x.strip()]
    assert len(rows) > 2000
    assert all(language.is_english(r["text"]) for r in rows)


def test_priority_question_gives_a_prior_open_questions_do_not():
    assert assess.prior_for("policing", "policing.opinion") == "policing"
    assert assess.prior_for("general", "general.next_year") is None
    assert assess.prior_for("policing", "general.rating_why") is None
    assert assess.prior_for(None, None) is None


def test_the_question_prior_guides_a_vague_answer():
    text = "they could listen more and explain things better"
    police = assess.assess(text, question_priority="policing", question_id="policing.better")
    family = assess.assess(
        text,
        question_priority="working_with_families",
        question_id="working_with_families.support",
    )
    assert police.priority == "policing"
    assert family.priority == "working_with_families"


def test_an_answer_with_no_question_is_read_by_the_text_only_head_when_the_file_has_one(
    monkeypatch,
):
    h = assess.heads()
    assert (h.pri_text_w is None) == (h.pri_text_b is None)
    # A text-only head that always says "remands": only answers with no question reach it.
    n = len(h.pri_labels)
    bias = np.full(n, -50.0, dtype=np.float32)
    bias[h.pri_labels.index("remands")] = 50.0
    forced = dataclasses.replace(
        h, pri_text_w=np.zeros((h.pri_w.shape[0], n), np.float32), pri_text_b=bias
    )
    monkeypatch.setattr(assess, "heads", lambda: forced)
    text = "they could listen more and explain things better"
    assert assess.assess(text).priority == "remands"  # no question at all: the text head
    # an open question's answer and a priority question's keep the main head
    assert assess.assess(text, question_priority="general", question_id="general.x").priority != (
        "remands"
    )
    asked = assess.assess(text, question_priority="policing", question_id="policing.better")
    assert asked.priority == "policing"


def test_an_answer_about_nothing_is_none():
    assert assess.assess("dunno").priority == "none"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😂😂😂🔥",
        "<p>the <b>police</b> were fair</p><script>alert(1)</script>",
        bytes(range(256)).decode("latin-1"),
        "the police were ok Мене б'ють вдома 我很好 ok",
        "x" * 100_000,
        "\ufffd\x00\x01",
    ],
    ids=["empty", "blank", "emoji", "html", "binary", "mixed-script", "huge-word", "control"],
)
def test_bad_input_is_assessed_without_crashing(text):
    a = pipeline.analyse(text)
    assert a.flag_tier in (None, pipeline.FLAG, pipeline.POSSIBLE)
    assert a.sentiment in (None, "negative", "neutral", "positive")


def test_many_answers_at_once_read_as_one_at_a_time():
    texts = ["my dad hits me", "the police were fair", "Dw i ddim yn hoffi ysgol", ""]
    many = assess.assess_many(texts)
    one = [assess.assess(t) for t in texts]
    assert [(a.concern, a.priority, a.sentiment) for a in many] == [
        (a.concern, a.priority, a.sentiment) for a in one
    ]
    for a, b in zip(many, one, strict=True):
        assert (
            a.score == pytest.approx(b.score, abs=1e-4) if a.score is not None else b.score is None
        )


def test_guards_read_context():
    cue = dict(
        zip(guards.NAMES, guards.features("got kicked out of school in year 9"), strict=True)
    )
    assert cue["school_context"] == 1.0
    cue = dict(
        zip(guards.NAMES, guards.features("he used to hit me but its sorted now"), strict=True)
    )
    assert cue["past_resolved"] == 1.0
    cue = dict(
        zip(guards.NAMES, guards.features("kids carry knives cos they are scared"), strict=True)
    )
    assert cue["others_general"] == 1.0 and cue["first_person"] == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "got kicked out of school in year 9. he used to hit me but its sorted now",
        "kids carry knives cos they are scared; i dont. “bars” / on repeat lol",
        "i need help rn!! my mum dont know. policy should be better funded",
        "hi.there...everyone,is fine\n\nnot me though",
        "",
    ],
)
def test_span_features_equal_features_span_by_span(text):
    bounds = [(0, len(text)), *assess.spans(text)]
    whole = guards.context(text)
    one_by_one = np.stack([guards.features(text[s:e], whole) for s, e in bounds])
    assert np.array_equal(guards.span_features(text, bounds), one_by_one)


def cues(text: str) -> dict[str, float]:
    return dict(zip(guards.NAMES, guards.features(text), strict=True))


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("im proper good now, my worker checks in", "past_resolved"),
        ("i dont carry now, the course changed my mind", "past_resolved"),
        ("im 15 now and safe", "past_resolved"),
        ("wrote this: opps on the bus / pen in my hand", "quote_or_lyrics"),
        ("im in the booth telling it cold", "quote_or_lyrics"),
        ("go karting!! im dying to go", "idiom"),
        ("we wouldnt be bored to death sat on the wall", "idiom"),
        ("we need more funding for detached youth workers", "policy_talk"),
    ],
)
def test_guards_read_what_changes_the_meaning(text, cue):
    assert cues(text)[cue] == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "i dont want to be here anymore",  # despair, not a resolved past
        "i cant take it any more",
        "he hits me every night",
    ],
)
def test_distress_is_not_read_as_resolved(text):
    assert cues(text)["past_resolved"] == 0.0


def test_a_long_answer_is_truncated_by_windows_but_its_tail_is_read(monkeypatch):
    from surveys.analysis import embeddings

    monkeypatch.setattr(embeddings, "MAX_WINDOWS", 4)  # the same path as 32, cheaper
    tail = "my uncle comes in when everyone is asleep and says its our thing and not to tell"
    text = "we went to the youth club and it was good. " * 400 + tail
    assert len(embeddings.encoder().pieces([text])[0]) > 6 * embeddings.WINDOW  # truncated
    a = assess.assess(text)
    assert a.concern
    start, end = a.trigger
    assert start >= len(text) - len(tail) - 1 and end == len(text)  # the tail triggered it


def test_bad_answers_in_one_batch_give_one_assessment_each(monkeypatch):
    from surveys.analysis import embeddings

    monkeypatch.setattr(embeddings, "MAX_WINDOWS", 4)  # the same path as 32, cheaper
    texts = [
        "",
        "we went to the youth club and it was good. " * 2400 + "he hits me every night",
        bytes(range(256)).decode("latin-1") * 40,
        "the police were ok Мене б'ють вдома 我很好 ok",
        "😂😂😂🔥🔥💀",
        "<p>the <b>police</b> were fair</p><script>alert(1)</script>",
    ]
    got = assess.assess_many(texts)
    assert len(got) == len(texts)
    assert got[3].lane == assess.NOT_READ  # another script is never passed as ok
    assert all(a.sentiment in ("negative", "neutral", "positive", None) for a in got)
