"""Load and validate question banks (YAML) into frozen dataclasses.

A bank is one national (or local) priority: its key, title, plan order, a description
(used to map free text to priorities) and its questions. Every question carries wording
per audience; a bank that breaks a rule fails loudly, naming the file, question and reason.

Bank file shape::

    key: policing
    title: Policing
    order: 2
    description: Experience of police, stop and search, arrest ...
    questions:
      - id: policing.opinion            # unique across all banks, prefixed by the bank key
        type: text                      # text | choice | rating | yesno
        text:                           # who is asked: the audiences given wording
          child: What do you think of the police?
          parent: What do you think of how the police treat your child?
        options:                        # choice only: key + label (label per audience optional)
          - {key: fair, label: Fair}
        show_if: {question: remands.ever, in: ["yes"]}  # or {question: X, answered: true}
        max_length: 2000                # text only
        help: {child: Say as much or as little as you like.}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from surveys.core.vocabulary import AUDIENCES

QUESTION_TYPES: tuple[str, ...] = ("text", "choice", "rating", "yesno")
#: Fallback chain for wording: a partner sees staff wording unless given their own.
WORDING_FALLBACK: dict[str, tuple[str, ...]] = {
    "child": ("child",),
    "parent": ("parent",),
    "staff": ("staff",),
    "partner": ("partner", "staff"),
}
RATING_OPTIONS: tuple[tuple[str, str], ...] = (
    ("very_good", "Very good"),
    ("good", "Good"),
    ("ok", "OK"),
    ("poor", "Poor"),
)
YESNO_OPTIONS: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("no", "No"))
DEFAULT_MAX_LENGTH = 2000
MAX_OPTIONS = 6  # more buttons than this is too many to read on a phone
BANKS_DIR = Path(__file__).parent / "banks"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_QID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_.]+$")


class BankError(ValueError):
    """A question bank breaks a rule; the message names the file, question and reason."""

    def __init__(self, file: str, question: str | None, reason: str):
        self.file, self.question, self.reason = file, question, reason
        where = f"{file}: question {question!r}" if question else file
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Option:
    """One answer a respondent can tap."""

    key: str
    labels: Mapping[str, str]  # audience -> label; "default" for all

    def label(self, audience: str) -> str:
        """Return the label for an audience."""
        for aud in (*WORDING_FALLBACK.get(audience, (audience,)), "default"):
            if aud in self.labels:
                return self.labels[aud]
        return self.key


@dataclass(frozen=True)
class Condition:
    """Show a question only after a given answer to an earlier one."""

    question: str
    values: tuple[str, ...] = ()  # empty with answered=True: any non-skipped answer
    answered: bool = False

    def holds(self, answers: Mapping[str, Any]) -> bool:
        """Return True when the earlier answer makes this question apply."""
        if self.question not in answers or answers[self.question] is None:
            return False
        if self.answered:
            return True
        return str(answers[self.question]) in self.values


@dataclass(frozen=True)
class Question:
    """A question with its wording for each audience."""

    id: str
    priority: str
    type: str
    texts: Mapping[str, str]  # audience -> wording
    options: tuple[Option, ...] = ()
    show_if: Condition | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    helps: Mapping[str, str] = field(default_factory=dict)

    @property
    def audiences(self) -> tuple[str, ...]:
        """Return the audiences this question is asked of."""
        return tuple(a for a in AUDIENCES if self.text_for(a) is not None)

    def text_for(self, audience: str) -> str | None:
        """Return the wording for an audience, or None when not asked of them."""
        for aud in WORDING_FALLBACK.get(audience, (audience,)):
            if aud in self.texts:
                return self.texts[aud]
        return None

    def help_for(self, audience: str) -> str | None:
        """Return the extra help line for an audience, if any."""
        for aud in (*WORDING_FALLBACK.get(audience, (audience,)), "default"):
            if aud in self.helps:
                return self.helps[aud]
        return None

    def choices(self) -> tuple[Option, ...]:
        """Return the tappable answers (empty for free text)."""
        if self.type == "rating":
            return tuple(Option(k, {"default": v}) for k, v in RATING_OPTIONS)
        if self.type == "yesno":
            return tuple(Option(k, {"default": v}) for k, v in YESNO_OPTIONS)
        return self.options


@dataclass(frozen=True)
class Bank:
    """One priority area and its questions."""

    key: str
    title: str
    order: int
    description: str
    questions: tuple[Question, ...]
    source: str = ""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cached per catalogue
class Catalogue:
    """Every bank, validated, in plan order."""

    banks: tuple[Bank, ...]

    def bank(self, key: str) -> Bank:
        """Return one bank by priority key."""
        for b in self.banks:
            if b.key == key:
                return b
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        """Return every priority key (including ``general``) in plan order."""
        return tuple(b.key for b in self.banks)

    @property
    def priority_keys(self) -> tuple[str, ...]:
        """Return the keys a lead can choose for a round (everything but ``general``)."""
        return tuple(b.key for b in self.banks if b.key != "general")

    def question(self, qid: str) -> Question:
        """Return one question by id."""
        for b in self.banks:
            for q in b.questions:
                if q.id == qid:
                    return q
        raise KeyError(qid)

    def heading(self, qid: str, audience: str) -> str:
        """Return a question's wording as a heading that stands on its own.

        A follow-up to any answer ("Tell us why." after a rating) is printed after the
        question it follows, so four "Tell us why." headings can be told apart.
        """
        q = self.question(qid)
        own = q.text_for(audience) or ""
        if q.show_if is None or not q.show_if.answered:
            return own
        try:
            parent = self.question(q.show_if.question).text_for(audience)
        except KeyError:
            return own
        return f"{parent} {own}" if parent else own

    def questions_for(self, priorities: Iterable[str], audience: str) -> tuple[Question, ...]:
        """Return the questions of the chosen priorities (plus ``general``) for one audience."""
        wanted = set(priorities) | {"general"}
        return tuple(
            q
            for b in self.banks
            if b.key in wanted
            for q in b.questions
            if q.text_for(audience) is not None
        )


def _wording(file: str, qid: str | None, raw: Any, what: str, *, allow_default: bool) -> dict:
    if isinstance(raw, str):
        if not raw.strip():
            raise BankError(file, qid, f"{what} is empty")
        return {"default": raw.strip()} if allow_default else {a: raw.strip() for a in AUDIENCES}
    if not isinstance(raw, dict) or not raw:
        raise BankError(file, qid, f"{what} must be a string or a mapping of audience to text")
    allowed = set(AUDIENCES) | ({"default"} if allow_default else set())
    out = {}
    for aud, text in raw.items():
        if aud not in allowed:
            raise BankError(file, qid, f"{what} has unknown audience {aud!r}")
        if not isinstance(text, str) or not text.strip():
            raise BankError(file, qid, f"{what} for {aud!r} must be non-empty text")
        out[aud] = text.strip()
    return out


def _condition(file: str, qid: str, raw: Any) -> Condition:
    if not isinstance(raw, dict) or "question" not in raw:
        raise BankError(file, qid, "show_if needs a 'question'")
    unknown = set(raw) - {"question", "in", "answered"}
    if unknown:
        raise BankError(file, qid, f"show_if has unknown keys {sorted(unknown)}")
    if "in" in raw:
        values = raw["in"]
        if not isinstance(values, list) or not values:
            raise BankError(file, qid, "show_if 'in' must be a non-empty list")
        return Condition(str(raw["question"]), tuple(str(v) for v in values))
    if raw.get("answered") is True:
        return Condition(str(raw["question"]), (), answered=True)
    raise BankError(file, qid, "show_if needs 'in: [...]' or 'answered: true'")


def _question(file: str, bank_key: str, raw: Any) -> Question:
    if not isinstance(raw, dict):
        raise BankError(file, None, "every question must be a mapping")
    qid = raw.get("id")
    if not isinstance(qid, str) or not _QID_RE.match(qid):
        raise BankError(file, str(qid), "id must look like '<bank key>.<name>' in lower case")
    if not qid.startswith(bank_key + "."):
        raise BankError(file, qid, f"id must start with the bank key '{bank_key}.'")
    unknown = set(raw) - {"id", "type", "text", "options", "show_if", "max_length", "help"}
    if unknown:
        raise BankError(file, qid, f"unknown keys {sorted(unknown)}")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise BankError(file, qid, f"type must be one of {', '.join(QUESTION_TYPES)}")
    texts = _wording(file, qid, raw.get("text"), "text", allow_default=False)
    options: tuple[Option, ...] = ()
    if qtype == "choice":
        raw_opts = raw.get("options")
        if not isinstance(raw_opts, list) or not 2 <= len(raw_opts) <= MAX_OPTIONS:
            raise BankError(file, qid, f"a choice question needs 2 to {MAX_OPTIONS} options")
        seen: set[str] = set()
        opts = []
        for o in raw_opts:
            if not isinstance(o, dict) or not isinstance(o.get("key"), str) or "label" not in o:
                raise BankError(file, qid, "each option needs a 'key' and a 'label'")
            if o["key"] in seen or not _KEY_RE.match(o["key"]):
                raise BankError(
                    file, qid, f"option key {o['key']!r} is repeated or not lower_snake"
                )
            seen.add(o["key"])
            opts.append(
                Option(o["key"], _wording(file, qid, o["label"], "label", allow_default=True))
            )
        options = tuple(opts)
        for opt in options:
            missing = [
                a
                for a in AUDIENCES
                if a in texts or (a == "partner" and "staff" in texts)
                if "default" not in opt.labels
                and not any(x in opt.labels for x in WORDING_FALLBACK[a])
            ]
            if missing:
                raise BankError(file, qid, f"option {opt.key!r} has no label for {missing}")
    elif "options" in raw:
        raise BankError(file, qid, f"a {qtype} question has fixed answers; remove 'options'")
    max_length = raw.get("max_length", DEFAULT_MAX_LENGTH)
    if type(max_length) is not int or not 1 <= max_length <= 10_000:
        raise BankError(file, qid, "max_length must be a whole number from 1 to 10000")
    show_if = _condition(file, qid, raw["show_if"]) if "show_if" in raw else None
    helps = _wording(file, qid, raw["help"], "help", allow_default=True) if "help" in raw else {}
    return Question(qid, bank_key, qtype, texts, options, show_if, max_length, helps)


def load_bank(path: Path) -> Bank:
    """Load and validate one bank file."""
    file = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BankError(file, None, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise BankError(file, None, "a bank must be a mapping")
    unknown = set(raw) - {"key", "title", "order", "description", "questions"}
    if unknown:
        raise BankError(file, None, f"unknown keys {sorted(unknown)}")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise BankError(file, None, "key must be lower_snake_case")
    if path.stem != key:
        raise BankError(file, None, f"file name must match the key ({key}.yaml)")
    for name in ("title", "description"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise BankError(file, None, f"{name} is required")
    order = raw.get("order")
    if type(order) is not int:
        raise BankError(file, None, "order must be a whole number (the plan's section order)")
    questions = raw.get("questions")
    if not isinstance(questions, list) or not questions:
        raise BankError(file, None, "a bank needs at least one question")
    qs = tuple(_question(file, key, q) for q in questions)
    return Bank(key, raw["title"].strip(), order, raw["description"].strip(), qs, file)


def _check_cross_references(banks: Iterable[Bank]) -> None:
    all_ids: set[str] = set()
    for bank in banks:
        seen: dict[str, Question] = {}  # a screening question must be earlier in the same bank
        for q in bank.questions:
            if q.id in all_ids:
                raise BankError(bank.source, q.id, "question id is used twice")
            all_ids.add(q.id)
            if q.show_if is not None:
                target = seen.get(q.show_if.question)
                if target is None:
                    raise BankError(
                        bank.source,
                        q.id,
                        f"show_if refers to {q.show_if.question!r}, which is not an earlier "
                        "question in the same bank",
                    )
                valid = {o.key for o in target.choices()}
                bad = [v for v in q.show_if.values if v not in valid]
                if bad:
                    raise BankError(
                        bank.source, q.id, f"show_if values {bad} are not answers of {target.id}"
                    )
                missing = [a for a in q.audiences if target.text_for(a) is None]
                if missing:
                    raise BankError(
                        bank.source, q.id, f"show_if question {target.id} is not asked of {missing}"
                    )
            seen[q.id] = q


def load_catalogue(directory: Path | str | None = None) -> Catalogue:
    """Load every ``*.yaml`` bank in a folder (default: the packaged banks), in plan order."""
    folder = Path(directory) if directory else BANKS_DIR
    banks = [load_bank(p) for p in sorted(folder.glob("*.yaml"))]
    if not banks:
        raise BankError(str(folder), None, "no banks found")
    keys = [b.key for b in banks]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise BankError(str(folder), None, f"priority keys used twice: {sorted(dupes)}")
    orders = [b.order for b in banks]
    same = sorted(b.source for b in banks if orders.count(b.order) > 1)
    if same:
        raise BankError(str(folder), None, f"these banks share a plan order number: {same}")
    banks.sort(key=lambda b: (b.order, b.key))
    _check_cross_references(banks)
    return Catalogue(tuple(banks))


@cache
def default_catalogue() -> Catalogue:
    """Return the packaged banks (loaded once per process)."""
    return load_catalogue()
