"""The labelled sets the analysis is trained and measured on.

Realistic invented answers, written apart from the rules (see each folder's README):

* ``tests/data/voice/``: W1 disclosures, W2 hard negatives and ordinary answers, W3 answers
  (1,430), and W4's 520 mixed items (``formerly_sealed_w4.jsonl``: the first sealed split,
  reported on once and dev data since);
* ``tests/data/voice2/``: W6a disclosures and hard negatives, W6b answers, and W5's 600
  mixed items (``formerly_sealed_w5.jsonl``: the second sealed split, reported on once);
* ``tests/data/voice3/``: W8 (aimed at adults' reports, threats, indirect self-harm and
  suicide, and their hard negatives) and W9 (regional voices, younger children);
* ``tests/data/voice4/``: W7's 600 mixed items (``formerly_sealed_w7.jsonl``: the third
  sealed split, reported on once), W11 (indirect goodbyes, harm by professionals in
  passing, exploitation without its words, and their look-alikes) and W12 (short phone
  replies, gaming talk, younger children, answers typed by a worker);
* ``tests/data/voice5/``: W10's and W13's 600 mixed items each (``formerly_sealed_*``: the
  fourth and fifth sealed splits, each reported on once), W14 (exploitation going on now,
  indirect suicidal wording, self-harm in teen words, threats, home, harm by adults, and
  their look-alikes) and W15 (long answers with the disclosure late or midway, answers that
  change topic, younger, care-experienced and regional voices, adults);
* ``tests/data/voice6/``: W16's 600 mixed items (``formerly_sealed_w16.jsonl``: the sixth
  sealed split, reported on once) and W18 (harm never named, only shown through details:
  errands and older "friends", no food or coat, marks and tempers, hiding arms, adults'
  reports in professional words, being followed; and their look-alikes).
* ``tests/data/voice7/``: W17's and W19's 600 mixed items each (``formerly_sealed_*``: the
  seventh and eighth sealed splits, each reported on once; the shipped heads were trained
  before W19 joined, the next ``train.py`` run includes it) and W20 (harm told late in a
  long ordinary answer, or played down; and look-alikes of what ordinary answers talk
  about: security guards, meds, a night in the cells, the signs of exploitation, diets,
  strict parents, trips, hyperbole, professionals' jargon).
* ``tests/data/voice8/``: W21's 600 mixed items (``formerly_sealed_w21.jsonl``: the ninth
  sealed split, reported on once) and W23 (short sideways hints: unexplained money and
  phones, a warning that something will happen, not safe where they sleep, making sure
  others are fine "after", neglect and injuries told in passing, adults' hints; and their
  look-alikes).
* ``tests/data/voice9/``: W22's 600 mixed items (``formerly_sealed_w22.jsonl``: the tenth
  sealed split, reported on once) and W25 (harm told plainly and then played down, threats
  around school, self-harm and injuries joked about, cruelty as "house rules", a date
  decided, adults' reports of current risk, short texts; and their look-alikes) and W26
  (the lexicon's development set: harm told plainly in a few words, and look-alikes).
* ``tests/data/voice10/``: W24's 600 mixed items (``formerly_sealed_w24.jsonl``: the
  eleventh sealed split, reported on once) and W28 (harm inside praise and thanks, harm by a
  trusted adult never told, farewell notes, parents' reports of current risk, a threat at
  the end of a good answer, missing from home told casually, short texts; and their
  look-alikes).
* ``tests/data/voice11/``: W27's 600 mixed items (``formerly_sealed_w27.jsonl``: the
  twelfth sealed split, reported on once) and W30 (harm at home as the reason to want to be
  elsewhere, exploitation told as routine, old harm never told, harm inside a rating or a
  suggestion, short sideways replies; and their look-alikes).
* ``tests/data/voice12/``: W29's 600 mixed items (``formerly_sealed_w29.jsonl``: the
  thirteenth sealed split, reported on once) and W32 (injuries explained away, calm
  farewells, harm told as a practical obstacle, harm played down, adults' vague reports,
  short hints; and their look-alikes).
* ``tests/data/voice13/``: W31's 600 mixed items (``formerly_sealed_w31.jsonl``: the
  fourteenth sealed split, reported on once), W33's (``formerly_sealed_w33.jsonl``: the
  fifteenth, reported on once) and W34 (harm revealed by a suggestion,
  secrecy at home, revenge told as patience, dark jokes half taken back, confinement as
  punishment, harm told as past that still goes on; and their look-alikes).
* ``tests/data/voice14/``: W35's, W37's, W38's, W39's, W42's and W43's 600 mixed items each
  (``formerly_sealed_*``: the sixteenth to twenty-first sealed splits, each reported on once)
  and
  W36 (care withheld, exploitation told as a job, threats said sideways, dark jokes,
  confinement and control, unsafe tonight without the obvious words; and their look-alikes) and
  W40 (threats over someone else's debt, marks kept hidden, abuse told as a joke, fights
  planned, exploitation shown by phones, fares and favours, a disclosure in passing in a long
  answer; and their look-alikes) and W41 (cruel words at home, better off without me,
  exploitation told as a job, home as the problem, a trusted adult's hints, a disclosure in
  passing; and their look-alikes) and W44 (food and harm told in passing, holding things
  without asking, home shown as a scene, a place and a time instead of the words, what an adult
  says and does, danger now; and their look-alikes) and W45 (home shown by contrast, despair in
  a cell told by objects, unsafe places at night, staff cruelty inside a complaint, warnings
  and being watched, what adults found online; and their look-alikes) and W47 (threats told as
  visits and lists, staff harm in soft words, neglect in passing, grooming told as kindness,
  sofas and cars, self-harm as coping; and their look-alikes).

``labelled()`` returns them all, each with its ``source`` (the writer) and ``fold``: the heads'
choices (features, regularisation, the threshold) are made by cross-validation that leaves one
writer's fold out at a time (``voice`` = W1-W3, ``w4``, ``voice2`` = W6a+W6b, ``w5``, ``w8``,
``w9``, ``w7``, ``w11``, ``w12``, ``w10``, ``w14``, ``w15``, ``w13``, ``w16``, ``w18``,
``w17``, ``w20``, ``w19``, ``w21``, ``w23``, ``w22``, ``w25``, ``w26``, ``w24``, ``w28``,
``w27``, ``w30``, ``w29``, ``w32``, ``w31``, ``w34``, ``w33``, ``w36``, ``w35``, ``w37``,
``w40``, ``w38``, ``w41``, ``w39``, ``w44``, ``w45``, ``w42``, ``w43``, ``w47``), so every
figure is on words by a writer the model did not train on. The older sets written alongside the
old rules are extra training data (``*_dev``) or report-only (``*_holdout``). The sealed split
(``tests/data/sealed22/``) is not read here: only ``report.py --sealed`` opens it, once, at the
end.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
VOICE = DATA / "voice"
VOICE2 = DATA / "voice2"
VOICE3 = DATA / "voice3"
VOICE4 = DATA / "voice4"
VOICE5 = DATA / "voice5"
VOICE6 = DATA / "voice6"
VOICE7 = DATA / "voice7"
VOICE8 = DATA / "voice8"
VOICE9 = DATA / "voice9"
VOICE10 = DATA / "voice10"
VOICE11 = DATA / "voice11"
VOICE12 = DATA / "voice12"
VOICE13 = DATA / "voice13"
VOICE14 = DATA / "voice14"
#: TweetEval sentiment (SemEval-2017), shared with the project, not in the repository.
TWEETEVAL = Path("/work/shared/data/tweeteval-sentiment")
DEV_SHARE = 5  # one id in five
ORDINARY_FAMILIES = ("ordinary", "answer", "quote", "proposal")


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
        if path.name.startswith("formerly_sealed"):
            continue
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


def group(row: dict, source: str) -> str:
    """Return ``disclosure``, ``hard_negative`` or ``ordinary`` for a labelled row."""
    if row["flag"]:
        return "disclosure"
    if source in ("W3", "W6b"):  # the answers writers: plain answers, quotes, comments
        return "ordinary"
    return "ordinary" if row.get("family") in ORDINARY_FAMILIES else "hard_negative"


SOURCES = (  # file, writer, cross-validation fold
    (VOICE / "disclosures_w1.jsonl", "W1", "voice"),
    (VOICE / "negatives_w2.jsonl", "W2", "voice"),
    (VOICE / "answers_w3.jsonl", "W3", "voice"),
    (VOICE / "formerly_sealed_w4.jsonl", "W4", "w4"),
    (VOICE2 / "safeguarding_w6a.jsonl", "W6a", "voice2"),
    (VOICE2 / "answers_w6b.jsonl", "W6b", "voice2"),
    (VOICE2 / "formerly_sealed_w5.jsonl", "W5", "w5"),
    (VOICE3 / "train_w8.jsonl", "W8", "w8"),
    (VOICE3 / "train_w9.jsonl", "W9", "w9"),
    (VOICE4 / "formerly_sealed_w7.jsonl", "W7", "w7"),
    (VOICE4 / "train_w11.jsonl", "W11", "w11"),
    (VOICE4 / "train_w12.jsonl", "W12", "w12"),
    (VOICE5 / "formerly_sealed_w10.jsonl", "W10", "w10"),
    (VOICE5 / "train_w14.jsonl", "W14", "w14"),
    (VOICE5 / "train_w15.jsonl", "W15", "w15"),
    (VOICE5 / "formerly_sealed_w13.jsonl", "W13", "w13"),
    (VOICE6 / "formerly_sealed_w16.jsonl", "W16", "w16"),
    (VOICE6 / "train_w18.jsonl", "W18", "w18"),
    (VOICE7 / "formerly_sealed_w17.jsonl", "W17", "w17"),
    (VOICE7 / "train_w20.jsonl", "W20", "w20"),
    (VOICE7 / "formerly_sealed_w19.jsonl", "W19", "w19"),
    (VOICE8 / "formerly_sealed_w21.jsonl", "W21", "w21"),
    (VOICE8 / "train_w23.jsonl", "W23", "w23"),
    (VOICE9 / "formerly_sealed_w22.jsonl", "W22", "w22"),
    (VOICE9 / "train_w25.jsonl", "W25", "w25"),
    (VOICE9 / "dev_w26.jsonl", "W26", "w26"),
    (VOICE10 / "formerly_sealed_w24.jsonl", "W24", "w24"),
    (VOICE10 / "train_w28.jsonl", "W28", "w28"),
    (VOICE11 / "formerly_sealed_w27.jsonl", "W27", "w27"),
    (VOICE11 / "train_w30.jsonl", "W30", "w30"),
    (VOICE12 / "formerly_sealed_w29.jsonl", "W29", "w29"),
    (VOICE12 / "train_w32.jsonl", "W32", "w32"),
    (VOICE13 / "formerly_sealed_w31.jsonl", "W31", "w31"),
    (VOICE13 / "train_w34.jsonl", "W34", "w34"),
    (VOICE13 / "formerly_sealed_w33.jsonl", "W33", "w33"),
    (VOICE14 / "train_w36.jsonl", "W36", "w36"),
    (VOICE14 / "formerly_sealed_w35.jsonl", "W35", "w35"),
    (VOICE14 / "formerly_sealed_w37.jsonl", "W37", "w37"),
    (VOICE14 / "train_w40.jsonl", "W40", "w40"),
    (VOICE14 / "formerly_sealed_w38.jsonl", "W38", "w38"),
    (VOICE14 / "train_w41.jsonl", "W41", "w41"),
    (VOICE14 / "formerly_sealed_w39.jsonl", "W39", "w39"),
    (VOICE14 / "train_w44.jsonl", "W44", "w44"),
    (VOICE14 / "train_w45.jsonl", "W45", "w45"),
    (VOICE14 / "formerly_sealed_w42.jsonl", "W42", "w42"),
    (VOICE14 / "formerly_sealed_w43.jsonl", "W43", "w43"),
    (VOICE14 / "train_w47.jsonl", "W47", "w47"),
)


def labelled() -> list[dict]:
    """Return every realistic labelled answer with ``source``, ``fold`` and ``group``."""
    rows = []
    for path, source, fold in SOURCES:
        if not path.exists():
            continue
        for r in load(path):
            r["source"], r["fold"], r["group"] = source, fold, group(r, source)
            rows.append(r)
    return rows
