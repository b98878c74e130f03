"""The labelled sets the analysis is trained and measured on, and the train / dev split.

``tests/data/voice/*.jsonl`` (1,430 realistic invented answers written apart from the rules)
is split by a stable hash of each id: one in five goes to **dev** (model and threshold
choice, reported), the rest to **train**. The older sets written alongside the old rules
are extra training data (``*_dev``) or report-only (``*_holdout``). The sealed split is
not read here: only ``report.py`` opens it, once, at the end.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
VOICE = DATA / "voice"
DEV_SHARE = 5  # one id in five


def load(path: Path) -> list[dict]:
    """Read a JSONL file."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def is_dev(item_id: str) -> bool:
    """Return True for the ids of the dev split (a stable hash, never a random draw)."""
    return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % DEV_SHARE == 0


def voice() -> list[dict]:
    """Return the realistic invented answers, each with ``split`` and ``group`` added.

    ``group``: ``disclosure``, ``hard_negative`` (the negatives writer's families other than
    plain answers) or ``ordinary`` (plain answers of both other writers).
    """
    rows = []
    for path in sorted(VOICE.glob("*.jsonl")):
        for r in load(path):
            r["split"] = "dev" if is_dev(r["id"]) else "train"
            if r["flag"]:
                r["group"] = "disclosure"
            elif path.name.startswith("negatives") and r["family"] != "ordinary":
                r["group"] = "hard_negative"
            else:
                r["group"] = "ordinary"
            rows.append(r)
    return rows


def question_priority(question_id: str | None) -> str | None:
    """Return the bank (priority) a question id belongs to: ``policing.opinion`` -> policing."""
    if not question_id or "." not in question_id:
        return None
    return question_id.split(".", 1)[0]
