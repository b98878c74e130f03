"""The question builder's form: its fields in, a question as a bank file holds it out, and back.

A question is edited as plain fields so the builder works with JavaScript off: its type, its
wording and help line per audience and language (``text-child-en``, ``help-default-cy``...),
up to six answers for a choice question (``option-key-1``, ``option-en-1``, ``option-cy-1``),
the answer of an earlier question it follows (``follows``: ``NAME|*`` for any answer,
``NAME|yes,sometimes`` for those), and whether it is a screening question. ``to_spec`` makes
the ``spec`` that ``surveys.services.questions`` checks and saves; ``from_spec`` fills the
fields from a saved one. ``checks`` measures every wording with ``surveys.core.wording.report``,
the same checks the packaged banks pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from surveys.core import wording
from surveys.core.catalogue import (
    FIXED_LABELS,
    MAX_OPTIONS,
    QUESTION_TYPES,
    RATING_OPTIONS,
    YESNO_OPTIONS,
    Catalogue,
)
from surveys.core.vocabulary import AUDIENCE_LABELS, AUDIENCES, ENGLISH, LANGUAGE_NAMES

#: The languages a question is written in, English first (it is required).
LANGS: tuple[str, ...] = (ENGLISH, "cy")
#: Help lines: one for everyone, or one per audience.
HELP_FOR: tuple[str, ...] = ("default", *AUDIENCES)
TYPE_LABELS: dict[str, str] = {
    "text": "Written answer",
    "choice": "Choice of answers (2 to 6 buttons)",
    "rating": "Rating: Very good, Good, OK, Poor",
    "yesno": "Yes or no",
}
#: What a screening question adds, so nobody is made to say who they are.
#: (The packaged banks' own wording: surveys/core/banks/over_represented_groups.yaml.)
RATHER_NOT_SAY = {
    "key": "rather_not_say",
    "label": {"en": "I'd rather not say", "cy": "Byddai'n well gen i beidio â dweud"},
}
OPTIONAL_HELP = {
    "en": "You do not have to tell us. You can skip it.",
    "cy": "Does dim rhaid i ti ddweud wrthon ni. Gelli di ei hepgor.",
}
_VERSION = re.compile(r"\.v\d+$")
_KEY_CHARS = re.compile(r"[^a-z0-9]+")


class FormProblem(ValueError):
    """The form cannot become a question: the message says what to change."""


@dataclass
class QuestionForm:
    """The builder's fields, as typed."""

    type: str = "text"
    name: str = ""
    text: dict[tuple[str, str], str] = field(default_factory=dict)  # (audience, lang)
    help: dict[tuple[str, str], str] = field(default_factory=dict)  # ("default"|aud, lang)
    options: list[dict[str, str]] = field(default_factory=list)  # key, en, cy
    follows: str = ""
    max_length: str = ""
    screening: bool = False
    #: A saved question whose answers were worded per group (a bank file can say so): the
    #: builder edits one wording for everyone, and saving uses it for every group.
    flattened: bool = False

    def option_rows(self) -> list[dict[str, str]]:
        """Return the answer rows to show: those typed, then empty ones up to the most."""
        rows = [dict(o) for o in self.options]
        while len(rows) < MAX_OPTIONS:
            rows.append({"key": "", "en": "", "cy": ""})
        return rows[:MAX_OPTIONS]


def from_request(form: Mapping[str, Any]) -> QuestionForm:
    """Return the builder's fields from a posted form (anything missing is empty)."""

    def get(name: str, limit: int = 2000) -> str:
        value = form.get(name, "")
        return value[:limit] if isinstance(value, str) else ""

    out = QuestionForm(
        type=get("type", 16) or "text",
        name=get("name", 128).strip(),
        follows=get("follows", 300),
        max_length=get("max_length", 8).strip(),
        screening=bool(get("screening", 8)),
    )
    for aud in AUDIENCES:
        for lang in LANGS:
            out.text[(aud, lang)] = get(f"text-{aud}-{lang}")
    for who in HELP_FOR:
        for lang in LANGS:
            out.help[(who, lang)] = get(f"help-{who}-{lang}")
    for i in range(1, MAX_OPTIONS + 1):
        row = {
            "key": get(f"option-key-{i}", 64).strip(),
            "en": get(f"option-en-{i}", 200),
            "cy": get(f"option-cy-{i}", 200),
        }
        if any(v.strip() for v in row.values()):
            out.options.append(row)
    return out


def _words(raw: Any, lang: str) -> str:
    if isinstance(raw, str):
        return raw if lang == ENGLISH else ""
    if isinstance(raw, Mapping):
        value = raw.get(lang, "")
        return value if isinstance(value, str) else ""
    return ""


def from_spec(spec: Mapping[str, Any], name: str = "") -> QuestionForm:
    """Return the fields that show a saved question (``spec`` as a bank file holds it)."""
    out = QuestionForm(type=str(spec.get("type", "text")), name=name)
    text = spec.get("text") or {}
    if isinstance(text, str) or (isinstance(text, Mapping) and set(text) <= set(LANGS)):
        text = {aud: text for aud in AUDIENCES}
    for aud, words in text.items():
        for lang in LANGS:
            out.text[(aud, lang)] = _words(words, lang)
    helps = spec.get("help") or {}
    if isinstance(helps, str) or (isinstance(helps, Mapping) and set(helps) <= set(LANGS)):
        helps = {"default": helps}
    for who, words in helps.items():
        for lang in LANGS:
            out.help[(who, lang)] = _words(words, lang)
    for option in spec.get("options") or []:
        label = option.get("label") or {}
        if isinstance(label, Mapping) and label and not set(label) <= set(LANGS):
            out.flattened = out.flattened or len(label) > 1
            label = label.get("default") or next(iter(label.values()))  # per audience: first
        key = str(option.get("key", ""))
        out.options.append({"key": key, "en": _words(label, "en"), "cy": _words(label, "cy")})
    cond = spec.get("show_if")
    if isinstance(cond, Mapping) and cond.get("question"):
        values = "*" if cond.get("answered") else ",".join(str(v) for v in cond.get("in") or [])
        out.follows = f"{cond['question']}|{values}"
    if "max_length" in spec:
        out.max_length = str(spec["max_length"])
    out.screening = _is_screening_spec(spec)
    return out


def _is_screening_spec(spec: Mapping[str, Any]) -> bool:
    if spec.get("type") != "choice":
        return False
    labels = [_words(o.get("label"), "en") for o in spec.get("options") or []]
    return any(wording.RATHER_NOT_SAY.search(label) for label in labels)


def _key_from(label: str, taken: set[str]) -> str:
    key = _KEY_CHARS.sub("_", label.lower()).strip("_")[:30] or "answer"
    if not key[0].isalpha():
        key = "a_" + key
    stem, n = key, 1
    while key in taken:
        n += 1
        key = f"{stem}_{n}"
    return key


def to_spec(f: QuestionForm) -> dict[str, Any]:
    """Return the question the fields describe, as a bank file holds it (without its id).

    Raises FormProblem for what only the form can get wrong (a number that is not one); the
    question's own rules are checked by the service that saves it.
    """
    if f.type not in QUESTION_TYPES:
        raise FormProblem(f"Please choose the question's type: {', '.join(TYPE_LABELS.values())}.")
    spec: dict[str, Any] = {"type": f.type}
    text: dict[str, dict[str, str]] = {}
    for (aud, lang), words in f.text.items():
        if words.strip():
            text.setdefault(aud, {})[lang] = words
    spec["text"] = text
    helps: dict[str, dict[str, str]] = {}
    for (who, lang), words in f.help.items():
        if words.strip():
            helps.setdefault(who, {})[lang] = words
    if f.type == "choice":
        taken: set[str] = set()
        options: list[dict[str, Any]] = []
        for row in f.options:
            label = {lang: row[lang] for lang in LANGS if row.get(lang, "").strip()}
            key = row.get("key", "").strip() or _key_from(row.get("en", ""), taken)
            taken.add(key)
            options.append({"key": key, "label": label})
        if f.screening:
            if not any(wording.RATHER_NOT_SAY.search(_words(o["label"], "en")) for o in options):
                options.append({"key": _key_from("rather_not_say", taken), **_copy(RATHER_NOT_SAY)})
            said = " ".join([*text_values(text), *text_values(helps)])
            if not wording.OPTIONAL_WORDING.search(said):
                helps.setdefault("default", {}).update(
                    {k: v for k, v in OPTIONAL_HELP.items() if k not in helps.get("default", {})}
                )
        spec["options"] = options
    elif f.screening:
        raise FormProblem(
            "A screening question is a choice question that offers 'Rather not say': "
            "choose 'Choice of answers' as its type."
        )
    if helps:
        spec["help"] = helps
    if f.follows.strip():
        question, _, values = f.follows.partition("|")
        question = question.strip()
        if values.strip() in ("", "*"):
            spec["show_if"] = {"question": question, "answered": True}
        else:
            spec["show_if"] = {
                "question": question,
                "in": [v.strip() for v in values.split(",") if v.strip()],
            }
    if f.max_length:
        if f.type != "text":
            pass  # only a written answer has a length; the field is ignored otherwise
        elif not f.max_length.isdigit():
            raise FormProblem("Please give the longest answer as a whole number of letters.")
        else:
            spec["max_length"] = int(f.max_length)
    return spec


def _copy(option: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": dict(option["label"])}


def text_values(words: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Return every wording of an audience -> language -> text mapping."""
    return [t for per_lang in words.values() for t in per_lang.values()]


# ---- live checks ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """The checks of one wording: an audience in a language."""

    audience: str
    lang: str
    report: wording.Report

    @property
    def label(self) -> str:
        """Return whose wording this is, in which language."""
        return f"{AUDIENCE_LABELS.get(self.audience, self.audience)}, {LANGUAGE_NAMES[self.lang]}"

    @property
    def field_id(self) -> str:
        """Return the id of the wording's field."""
        return f"text-{self.audience}-{self.lang}"

    def as_dict(self) -> dict[str, Any]:
        """Return the checks as plain JSON data."""
        return {"field": self.field_id, "label": self.label, **self.report.as_dict()}


def _labels(spec: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    fixed = {"rating": RATING_OPTIONS, "yesno": YESNO_OPTIONS}.get(spec.get("type", ""))
    if fixed is not None:
        return [(k, FIXED_LABELS.get(lang, {}).get(k, en)) for k, en in fixed]
    out = []
    for option in spec.get("options") or []:
        label = option.get("label") or {}
        words = _words(label, lang) or _words(label, ENGLISH)
        if words.strip():
            out.append((str(option.get("key", "")), words))
    return out


def checks(spec: Mapping[str, Any]) -> list[Check]:
    """Measure every wording of a question as its reader will read it (``wording.report``)."""
    out = []
    text = spec.get("text") or {}
    helps = spec.get("help") or {}
    for aud in AUDIENCES:
        for lang in LANGS:
            words = _words(text.get(aud), lang) if isinstance(text, Mapping) else ""
            if not words.strip():
                continue
            help_line = _words(helps.get(aud), lang) or _words(helps.get("default"), lang)
            report = wording.report(
                words,
                audience=aud,
                lang=lang,
                help_line=help_line or None,
                labels=_labels(spec, lang),
            )
            out.append(Check(aud, lang, report))
    return out


def without_welsh(spec: Mapping[str, Any]) -> list[str]:
    """Return the groups whose English wording has no Welsh yet (a Welsh round cannot ask it)."""
    text = spec.get("text") or {}
    if not isinstance(text, Mapping):
        return []
    return [
        AUDIENCE_LABELS.get(aud, aud)
        for aud in AUDIENCES
        if _words(text.get(aud), ENGLISH).strip() and not _words(text.get(aud), "cy").strip()
    ]


# ---- follow-ups -----------------------------------------------------------------------------
def follow_choices(
    catalogue: Catalogue, priority: str, before: str | None
) -> list[tuple[str, str]]:
    """Return (value, label) of every answer a question of this priority may follow.

    ``before`` is the question being edited: only questions asked before it are offered
    (every question of the priority for a new one, which goes last).
    """
    if priority not in catalogue.keys:
        return []
    out: list[tuple[str, str]] = []
    for q in catalogue.bank(priority).questions:
        name = _VERSION.sub("", q.id)
        if before is not None and name == before:
            break
        aud = next(iter(q.audiences), "child")
        heading = q.text_for(aud) or q.id
        if len(heading) > 70:
            heading = heading[:67] + "..."
        out.append((f"{name}|*", f"{heading} (any answer)"))
        for option in q.choices():
            out.append((f"{name}|{option.key}", f"{heading} (answer: {option.label(aud)})"))
    return out
