"""Benchmark the lexicon's RE2 screens (surveys/analysis/screen.py) (not a test).

    .venv/bin/python bench/analysis/screen.py

Runs ``check`` with the screens and without them (Python reads every category) over every
labelled text in tests/data (never a sealed split) and TweetEval's tweets, and reports:
how many results differ (must be none), how many categories a screen lets through per
text, and CPU time per answer both ways, each the best of three passes (one thread). The
first pass also fills the screens' automata, as a new process would.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.analysis import data  # noqa: E402
from surveys.analysis.disclosure import Lexicon, _spelled, check, default_lexicon, normalise  # noqa: E402


def texts() -> list[str]:
    """Every labelled text (tests/data, not sealed*) and TweetEval's tweets where present."""
    out = []
    for path in sorted(data.DATA.rglob("*.jsonl")):
        if any(part.startswith("sealed") for part in path.relative_to(data.DATA).parts):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if isinstance(row, dict) and isinstance(row.get("text"), str):
                out.append(row["text"])
    for name in ("test_text.txt", "val_text.txt"):
        if (data.TWEETEVAL / name).exists():
            out += (data.TWEETEVAL / name).read_text(encoding="utf-8").splitlines()
    return out


def main() -> None:
    lexicon = default_lexicon()
    bare = Lexicon(*(getattr(lexicon, f) for f in Lexicon.__dataclass_fields__))
    bare.__dict__["screens"] = (None,) * len(lexicon.patterns)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    all_texts = texts()
    timings = {}
    for name, lex in (("screened", lexicon), ("Python alone", bare)):
        best = []
        for _ in range(3):
            t0 = time.process_time()
            results = [check(t, lexicon=lex).as_dict() for t in all_texts]
            best.append((time.process_time() - t0) / len(all_texts))
        timings[name] = (min(best), best[0], results)
    pairs = zip(timings["screened"][2], timings["Python alone"][2], strict=True)
    differ = sum(a != b for a, b in pairs)
    through = 0
    for t in all_texts:
        raw = _spelled(*normalise(t), lexicon.ing_words)[0].encode("utf-8", "replace")
        through += sum(bool(s and s(raw)) for s in lexicon.screens)
    flagged = sum(r["flag"] for r in timings["screened"][2])
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(f"{len(all_texts):,} texts, {flagged:,} flagged; results that differ: {differ}")
    print(f"categories a screen lets through: {through / len(all_texts):.2f} per text of 15")
    for name, (best_s, first, _) in timings.items():
        print(
            f"check, {name}: {best_s * 1e6:.0f} µs an answer ({1 / best_s:,.0f}/s);"
            f" first pass {first * 1e6:.0f} µs"
        )
    print(f"peak memory grew by {rss:.0f} MB during the run (both lexicons' data and the results)")


if __name__ == "__main__":
    main()
