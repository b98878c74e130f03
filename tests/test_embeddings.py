"""Promises of the sentence model (surveys.analysis.embeddings): no PyTorch, no download."""

from __future__ import annotations

import itertools
import sys
import threading

import numpy as np

from surveys.analysis import embeddings


def test_the_model_ships_in_the_default_install():
    folder = embeddings.model_dir()
    assert (folder / "model.safetensors").stat().st_size > 80_000_000
    assert (folder / "tokenizer.json").exists()


def test_no_pytorch_is_loaded_to_embed():
    embeddings.embed(["the police were fair with me"])
    assert "torch" not in sys.modules
    assert "sentence_transformers" not in sys.modules


def test_embeddings_are_unit_length_and_deterministic():
    texts = ["the police were fair with me", "", "😂😂", "my dad hits me"]
    a = embeddings.embed(texts)
    b = embeddings.embed(list(reversed(texts)))[::-1]
    assert a.shape == (4, embeddings.DIM) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-6)  # batching and order change nothing


def test_meaning_not_spelling_decides_what_is_close():
    police, feds, school = embeddings.embed(
        ["the police stopped and searched me", "feds stopped n searched me", "i hate maths"]
    )
    assert police @ feds > police @ school + 0.2


def test_a_long_answer_is_read_to_the_end():
    tail = "he hits me every night"
    text = "we went to the youth club and it was good. " * 120 + tail
    start = len(text) - len(tail)
    reading = embeddings.encoder().read([text], [[(start, len(text))]])[0]
    assert len(embeddings.encoder().pieces([text])[0]) > 2 * embeddings.WINDOW  # many windows
    alone = embeddings.embed([tail])[0]
    assert reading.spans[0] @ alone > 0.5  # the tail's span holds the tail's meaning
    assert np.isclose(np.linalg.norm(reading.whole), 1.0, atol=1e-5)


def test_the_model_is_loaded_once_even_from_many_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(embeddings.encoder())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(e) for e in seen}) == 1


def test_windows_cover_every_piece_and_end_at_the_tail():
    w = embeddings.WINDOW
    assert embeddings.starts(10) == [0]
    assert embeddings.starts(w) == [0]
    for n in (w + 1, 3 * w, 10 * w + 7):
        got = embeddings.starts(n)
        assert got[0] == 0 and got[-1] + w == n  # the last window ends at the last piece
        for a, b in itertools.pairwise(got):
            assert 0 < b - a <= w - embeddings.OVERLAP  # neighbours overlap, nothing skipped


def test_a_very_long_answer_is_truncated_by_windows_and_keeps_its_tail():
    w = embeddings.WINDOW
    n = (embeddings.MAX_WINDOWS + 20) * w
    got = embeddings.starts(n)
    assert len(got) == embeddings.MAX_WINDOWS
    assert got[0] == 0 and got[-1] + w == n  # the head and the tail are read
    assert got[-embeddings.MAX_WINDOWS // 2] > n // 2  # the second half of the budget is the end


def test_text_beyond_the_character_limit_is_read_at_its_end_with_true_offsets(monkeypatch):
    monkeypatch.setattr(embeddings, "MAX_WINDOWS", 4)  # the same code path, fewer windows
    tail = "he hits me every night"
    text = "we went to the youth club and it was good. " * 6000 + tail
    assert len(text) > embeddings.MAX_CHARS
    enc = embeddings.encoder()
    ((_ids, offsets),) = enc._encode([text])
    assert text[offsets[-1][0] : offsets[-1][1]] == "night"
    start = len(text) - len(tail)
    reading = enc.read([text], [[(start, len(text))]])[0]
    assert reading.spans[0] @ embeddings.embed([tail])[0] > 0.5


def test_the_tanh_gelu_stays_close_to_the_exact_one():
    texts = ["the police were fair with me", "i dont feel safe at home tbh", "ok"]
    fast = embeddings.encoder().encode(texts)
    exact = embeddings.Encoder(gelu="exact").encode(texts)
    assert np.abs(fast - exact).max() < 1e-3
    assert ((fast * exact).sum(axis=1) > 0.99999).all()
