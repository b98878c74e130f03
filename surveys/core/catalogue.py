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
          child:                        # per language: English (en) always, Welsh (cy)...
            en: What do you think of the police?
            cy: Beth wyt ti'n feddwl o'r heddlu?
          parent: What do you think of how the police treat your child?   # English only
        options:                        # choice only: key + label (label per audience optional)
          - {key: fair, label: {en: Fair, cy: Teg}}
        show_if: {question: remands.ever, in: ["yes"]}  # or {question: X, answered: true}
        max_length: 2000                # text only
        help: {child: Say as much or as little as you like.}

Every wording (``title``, ``text``, ``help``, an option's ``label``) is either a plain string,
which is English, or a mapping of language to string (``{en: ..., cy: ...}``); ``text``,
``help`` and ``label`` may first map audiences to either. English is required everywhere;
``Catalogue.missing(lang)`` lists what has no wording in another language, and a round
offered in that language cannot be opened while its questions miss any (tests hold the
packaged banks to complete Welsh).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from surveys.core.vocabulary import AUDIENCES, ENGLISH, LANGUAGES

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
#: The fixed answers in other languages (drafted by the team; see docs/cy-glossary.md).
#: Welsh has no one word for "yes": "Ie" / "Na" are the forms buttons and forms use.
FIXED_LABELS: dict[str, dict[str, str]] = {
    "cy": {
        "very_good": "Da iawn",
        "good": "Da",
        "ok": "Iawn",
        "poor": "Gwael",
        "yes": "Ie",
        "no": "Na",
    },
}
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
    labels: Mapping[str, str]  # audience -> English label; "default" for all
    #: language -> audience -> label, for languages other than English
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def label(self, audience: str, lang: str = ENGLISH) -> str:
        """Return the label for an audience in a language (English when it has none)."""
        chain = (*WORDING_FALLBACK.get(audience, (audience,)), "default")
        found = _first(self.translations.get(lang, {}), chain) if lang != ENGLISH else None
        return found or _first(self.labels, chain) or self.key


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
    #: language -> audience -> wording (and help), for languages other than English
    text_translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    help_translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def audiences(self) -> tuple[str, ...]:
        """Return the audiences this question is asked of."""
        return tuple(a for a in AUDIENCES if self.text_for(a) is not None)

    def text_for(self, audience: str, lang: str = ENGLISH) -> str | None:
        """Return the wording for an audience, or None when not asked of them.

        In a language the question has no wording in, the English wording is returned
        (a round cannot be opened in that language, so this only shows an old round).
        """
        chain = WORDING_FALLBACK.get(audience, (audience,))
        english = _first(self.texts, chain)
        if english is None or lang == ENGLISH:
            return english
        return _first(self.text_translations.get(lang, {}), chain) or english

    def help_for(self, audience: str, lang: str = ENGLISH) -> str | None:
        """Return the extra help line for an audience, if any."""
        chain = (*WORDING_FALLBACK.get(audience, (audience,)), "default")
        english = _first(self.helps, chain)
        if english is None or lang == ENGLISH:
            return english
        return _first(self.help_translations.get(lang, {}), chain) or english

    def choices(self) -> tuple[Option, ...]:
        """Return the tappable answers (empty for free text)."""
        if self.type == "rating":
            return tuple(_fixed_option(k, v) for k, v in RATING_OPTIONS)
        if self.type == "yesno":
            return tuple(_fixed_option(k, v) for k, v in YESNO_OPTIONS)
        return self.options

    def missing(self, lang: str) -> list[str]:
        """Return what of this question has no wording in a language ("text for child"...)."""
        if lang == ENGLISH:
            return []
        out = []
        for aud in self.audiences:
            chain = WORDING_FALLBACK[aud]
            if _first(self.text_translations.get(lang, {}), chain) is None:
                out.append(f"text for {aud}")
            help_chain = (*chain, "default")
            if _first(self.helps, help_chain) is not None and (
                _first(self.help_translations.get(lang, {}), help_chain) is None
            ):
                out.append(f"help for {aud}")
            for opt in self.options:
                if _first(opt.translations.get(lang, {}), help_chain) is None:
                    out.append(f"label of option {opt.key!r} for {aud}")
        return list(dict.fromkeys(out))


def _first(mapping: Mapping[str, str], keys: Iterable[str]) -> str | None:
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def _fixed_option(key: str, english: str) -> Option:
    translations = {lang: {"default": labels[key]} for lang, labels in FIXED_LABELS.items()}
    return Option(key, {"default": english}, translations)


@dataclass(frozen=True)
class Bank:
    """One priority area and its questions."""

    key: str
    title: str  # English
    order: int
    description: str
    questions: tuple[Question, ...]
    source: str = ""
    titles: Mapping[str, str] = field(default_factory=dict)  # language -> title

    def title_in(self, lang: str) -> str:
        """Return the section title in a language (English when it has none)."""
        return self.titles.get(lang) or self.title


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cached per catalogue
class Catalogue:
    """Every bank, validated, in plan order.

    ``retired`` holds questions no longer asked whose answers are kept (an earlier version
    of a service's own question): ``question`` finds them, so what was answered is printed
    with the wording that was asked; ``questions_for`` never returns them. ``current_ids``
    maps each retired id to the id asked in its place, if any.
    """

    banks: tuple[Bank, ...]
    retired: tuple[Question, ...] = ()
    current_ids: Mapping[str, str] = field(default_factory=dict)

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
        """Return one question by id (a retired version too)."""
        for b in self.banks:
            for q in b.questions:
                if q.id == qid:
                    return q
        for q in self.retired:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def current_id(self, qid: str) -> str:
        """Return the id asked now in place of a question (itself when it is still asked)."""
        return self.current_ids.get(qid, qid)

    def heading(self, qid: str, audience: str, lang: str = ENGLISH) -> str:
        """Return a question's wording as a heading that stands on its own.

        A follow-up to any answer ("Tell us why." after a rating) is printed after the
        question it follows, so four "Tell us why." headings can be told apart.
        """
        q = self.question(qid)
        own = q.text_for(audience, lang) or ""
        if q.show_if is None or not q.show_if.answered:
            return own
        try:
            parent = self.question(q.show_if.question).text_for(audience, lang)
        except KeyError:
            return own
        return f"{parent} {own}" if parent else own

    def missing(
        self,
        lang: str,
        priorities: Iterable[str] | None = None,
        audiences: Iterable[str] | None = None,
    ) -> list[str]:
        """Return every wording missing in a language, as "file: question: what" lines.

        Limited to some priorities (``general`` always counts) and audiences when given.
        """
        wanted = None if priorities is None else set(priorities) | {"general"}
        auds = None if audiences is None else set(audiences)
        out = []
        for b in self.banks:
            if wanted is not None and b.key not in wanted:
                continue
            if lang != ENGLISH and lang not in b.titles:
                out.append(f"{b.source}: title")
            for q in b.questions:
                for what in q.missing(lang):
                    if auds is None or what.rsplit(" ", 1)[-1] in auds:
                        out.append(f"{b.source}: {q.id}: {what}")
        return out

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


def _languages(file: str, qid: str | None, raw: Any, what: str) -> dict[str, str]:
    """Read one wording: a string (English) or a mapping of language to string."""
    if isinstance(raw, str):
        if not raw.strip():
            raise BankError(file, qid, f"{what} is empty")
        return {ENGLISH: raw.strip()}
    if not isinstance(raw, dict) or not raw:
        raise BankError(file, qid, f"{what} must be text or a mapping of language to text")
    out = {}
    for lang, text in raw.items():
        if lang not in LANGUAGES:
            raise BankError(
                file, qid, f"{what} has unknown language {lang!r} (use {', '.join(LANGUAGES)})"
            )
        if not isinstance(text, str) or not text.strip():
            raise BankError(file, qid, f"{what} in {lang!r} must be non-empty text")
        out[lang] = text.strip()
    if ENGLISH not in out:
        raise BankError(file, qid, f"{what} has no English ({ENGLISH!r}) wording")
    return out


def _wording(
    file: str, qid: str | None, raw: Any, what: str, *, allow_default: bool
) -> dict[str, dict[str, str]]:
    """Read wording per audience and language; return language -> audience -> text."""
    if isinstance(raw, dict) and raw and set(raw) <= set(LANGUAGES):
        raw = _languages(file, qid, raw, what)  # one wording for every audience
        per_aud = {"default": raw} if allow_default else {a: raw for a in AUDIENCES}
    elif isinstance(raw, str):
        words = _languages(file, qid, raw, what)
        per_aud = {"default": words} if allow_default else {a: words for a in AUDIENCES}
    elif not isinstance(raw, dict) or not raw:
        raise BankError(file, qid, f"{what} must be a string or a mapping of audience to text")
    else:
        allowed = set(AUDIENCES) | ({"default"} if allow_default else set())
        per_aud = {}
        for aud, text in raw.items():
            if aud not in allowed:
                raise BankError(file, qid, f"{what} has unknown audience {aud!r}")
            if (isinstance(text, str) and not text.strip()) or not isinstance(text, str | dict):
                raise BankError(file, qid, f"{what} for {aud!r} must be non-empty text")
            per_aud[aud] = _languages(file, qid, text, f"{what} for {aud!r}")
    out: dict[str, dict[str, str]] = {}
    for aud, words in per_aud.items():
        for lang, text in words.items():
            out.setdefault(lang, {})[aud] = text
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
    text_words = _wording(file, qid, raw.get("text"), "text", allow_default=False)
    texts = text_words.pop(ENGLISH)
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
            label = _wording(file, qid, o["label"], "label", allow_default=True)
            opts.append(Option(o["key"], label.pop(ENGLISH), label))
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
    help_words = (
        _wording(file, qid, raw["help"], "help", allow_default=True) if "help" in raw else {}
    )
    helps = help_words.pop(ENGLISH, {})
    return Question(
        qid, bank_key, qtype, texts, options, show_if, max_length, helps, text_words, help_words
    )


def load_bank(path: Path) -> Bank:
    """Load and validate one bank file."""
    file = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BankError(file, None, f"not valid YAML: {exc}") from None
    bank = bank_from_mapping(raw, file)
    if path.stem != bank.key:
        raise BankError(file, None, f"file name must match the key ({bank.key}.yaml)")
    return bank


def parse_bank_text(text: str, source: str) -> Bank:
    """Read and validate one bank from YAML text (an upload): load_bank's checks but the name."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BankError(source, None, f"not valid YAML: {exc}") from None
    return bank_from_mapping(raw, source)


def question_from_mapping(raw: Any, source: str, bank_key: str) -> Question:
    """Validate one question given as a bank file holds it (``id``, ``type``, ``text``...)."""
    return _question(source, bank_key, raw)


def bank_from_mapping(raw: Any, source: str) -> Bank:
    """Validate one bank given as a mapping shaped like a bank file; ``source`` names it."""
    file = source
    if not isinstance(raw, dict):
        raise BankError(file, None, "a bank must be a mapping")
    unknown = set(raw) - {"key", "title", "order", "description", "questions"}
    if unknown:
        raise BankError(file, None, f"unknown keys {sorted(unknown)}")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise BankError(file, None, "key must be lower_snake_case")
    if not isinstance(raw.get("description"), str) or not raw["description"].strip():
        raise BankError(file, None, "description is required")
    if raw.get("title") is None:
        raise BankError(file, None, "title is required")
    titles = _languages(file, None, raw["title"], "title")
    order = raw.get("order")
    if type(order) is not int:
        raise BankError(file, None, "order must be a whole number (the plan's section order)")
    questions = raw.get("questions")
    if not isinstance(questions, list) or not questions:
        raise BankError(file, None, "a bank needs at least one question")
    qs = tuple(_question(file, key, q) for q in questions)
    english = titles.pop(ENGLISH)
    return Bank(key, english, order, raw["description"].strip(), qs, file, titles)


def merge(
    base: Catalogue,
    banks: Iterable[Bank] = (),
    additions: Mapping[str, Iterable[Question]] | None = None,
    retired: Iterable[Question] = (),
    current_ids: Mapping[str, str] | None = None,
) -> Catalogue:
    """Return ``base`` with more banks and more questions at the end of its banks, checked.

    ``additions`` maps a bank key of ``base`` to questions asked after its own; ``banks``
    are whole new banks (their keys and plan orders must be new); ``retired`` are questions
    kept only for the answers they have. Raises BankError as ``load_catalogue`` does.
    """
    extra = {k: tuple(v) for k, v in (additions or {}).items()}
    known = set(base.keys)
    unknown = sorted(set(extra) - known)
    if unknown:
        raise BankError("catalogue", None, f"no bank to add questions to: {unknown}")
    merged = [
        replace(b, questions=b.questions + extra[b.key]) if extra.get(b.key) else b
        for b in base.banks
    ]
    orders = {b.order for b in base.banks}
    for bank in banks:
        if bank.key in known:
            raise BankError(bank.source, None, f"the key {bank.key!r} is used by another bank")
        if bank.order in orders:
            raise BankError(bank.source, None, f"plan order {bank.order} is taken")
        known.add(bank.key)
        orders.add(bank.order)
        merged.append(bank)
    merged.sort(key=lambda b: (b.order, b.key))
    old = (*base.retired, *retired)
    _check_cross_references(merged, old)
    return Catalogue(tuple(merged), old, {**base.current_ids, **(current_ids or {})})


def _check_cross_references(banks: Iterable[Bank], retired: Iterable[Question] = ()) -> None:
    all_ids: set[str] = set()
    for q in retired:
        if q.id in all_ids:
            raise BankError("retired questions", q.id, "question id is used twice")
        all_ids.add(q.id)
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
