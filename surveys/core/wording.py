"""How hard a question is to read, and what it costs as a text: the checks the banks pass.

Pure functions over wording. The packaged banks are held to them by
``tests/test_banks_content.py``; the workbench's question builder runs the same functions as
the lead types (``report``), so a question written by a service meets the same bar.

Readability is measured with textstat 0.7.8 (pinned: later versions score differently and
try to download a dictionary offline). Flesch-Kincaid means nothing for a one-word label
("OK", "Mostly" score 8.4 because any two-syllable word does), so a single word is held to
at most two syllables instead; everything longer must reach grade 6 for a young person.
Grades are English measures: Welsh wording gets its word count and its text-message parts.

Two kinds of finding: *problems* refuse a question outright (empty, or far too long to be a
question at all: ``HARD_LIMITS``); *advice* is what the banks' tests would fail, shown to the
lead while they write, and saved anyway if they choose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import textstat

from surveys.core import sms_text
from surveys.core.catalogue import Catalogue, Question
from surveys.core.vocabulary import ENGLISH

#: Young people's wording: Flesch-Kincaid grade, words, syllables of a one-word label.
MAX_GRADE = 6.0
MAX_WORDS = 20
MAX_SYLLABLES_ONE_WORD = 2
#: Adults get plain English too, with a little more room.
ADULT_MAX_GRADE = {"parent": 9.0}
ADULT_MAX_WORDS = 25
#: Beyond these a wording is not a question any more: refused, whoever it is for.
HARD_LIMITS: dict[str, tuple[int, int]] = {  # what -> (words, characters)
    "text": (50, 400),
    "help": (60, 450),
    "label": (12, 80),
}
#: Text-message parts a question may take: English stays in GSM-7; Welsh letters make a
#: Unicode text (as ``sms/render.py`` allows).
MAX_SMS_PARTS = {ENGLISH: 2}
MAX_SMS_PARTS_OTHER = 3

CALLED_CHILDREN = re.compile(r"\bchild(ren)?('s)?\b", re.IGNORECASE)
# Words a young person may not know: allowed only when the question has a help line.
NEEDS_HELP = re.compile(r"\b(remand\w*|custody|excluded|victims?)\b", re.IGNORECASE)
# Jargon that has no place in a young person's wording at all.
JARGON = re.compile(
    r"\b(resettlement|reparation|exploitation|exploited|diversion|disproportionality|"
    r"intervention\w*|out-of-court|outcome 22|turnaround|appropriate adult|safeguarding|"
    r"ETE|PRU|SEND|YJS|custodial|engage\w*)\b",
    re.IGNORECASE,
)
# "... and how ...": one sentence asking two things.
TWO_QUESTIONS = re.compile(
    r"\b(and|or)\s+(what|how|why|where|when|who|which|do|does|did|would|could|should|"
    r"can|will|is|are|was|were|have|has)\b",
    re.IGNORECASE,
)
# Respondents asked about themselves (or their own child) must never have to disclose these.
SENSITIVE = re.compile(
    r"\b(black|white|asian|mixed|race|racis\w*|ethnic\w*|skin|colour|heritage|"
    r"girls?|boys?|gender|female|male|sex|sexual|transgender|non-binary|religio\w*)\b",
    re.IGNORECASE,
)
SELF_DISCLOSING_AUDIENCES = ("child", "parent")
RATHER_NOT_SAY = re.compile(r"rather not say|prefer not to say", re.IGNORECASE)
OPTIONAL_WORDING = re.compile(r"do not have to|don't have to|\bskip\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_][\w'’-]*")
#: The longest progress a text question shows ("(10/10) "), for counting its parts.
SMS_PROGRESS = (10, 10)


def words(text: str) -> list[str]:
    """Return the words of a text (letters in any language, digits, inner ' and -)."""
    return _WORD.findall(text)


def readability_problems(text: str) -> list[str]:
    """Return why a young person's text is too hard (empty when it is fine)."""
    n = len(words(text))
    problems = []
    if n == 0:
        problems.append("no words")
    elif n == 1:
        syllables = textstat.syllable_count(text)
        if syllables > MAX_SYLLABLES_ONE_WORD:
            problems.append(f"one word of {syllables} syllables (max {MAX_SYLLABLES_ONE_WORD})")
    else:
        grade = textstat.flesch_kincaid_grade(text)
        if grade > MAX_GRADE:
            problems.append(f"Flesch-Kincaid grade {grade:.1f} > {MAX_GRADE}")
    if n > MAX_WORDS:
        problems.append(f"{n} words > {MAX_WORDS}")
    if text.count("?") > 1:
        problems.append(f"{text.count('?')} question marks (one idea per question)")
    return problems


def child_texts(q: Question, lang: str = ENGLISH) -> list[tuple[str, str]]:
    """Return (what, text) for everything a young person reads for this question."""
    text = q.text_for("child", lang)
    if text is None:
        return []
    out = [("text", text)]
    help_line = q.help_for("child", lang)
    if help_line:
        out.append(("help", help_line))
    out += [(f"option {o.key}", o.label("child", lang)) for o in q.choices()]
    return out


def child_wording_problems(q: Question) -> list[str]:
    """Return every readability and wording problem in a question's child-facing texts."""
    problems = [
        f"{what}: {p}: {text!r}"
        for what, text in child_texts(q)
        for p in readability_problems(text)
    ]
    for what, text in child_texts(q):
        if CALLED_CHILDREN.search(text):
            problems.append(f"{what}: says 'child' to a young person: {text!r}")
        found = JARGON.search(text)
        if found:
            problems.append(f"{what}: jargon {found.group(0)!r}: {text!r}")
    text = q.text_for("child") or ""
    hard = NEEDS_HELP.search(text)
    if hard and not q.help_for("child"):
        problems.append(f"text uses {hard.group(0)!r} without a help line: {text!r}")
    return problems


# ---- screening: nobody is made to say who they are -----------------------------------------
def is_screening(q: Question, audience: str) -> bool:
    """A screening question: a choice offering 'rather not say', worded as optional."""
    if q.type != "choice":
        return False
    offers_refusal = any(RATHER_NOT_SAY.search(o.label(audience)) for o in q.options)
    said_optional = OPTIONAL_WORDING.search(
        f"{q.text_for(audience) or ''} {q.help_for(audience) or ''}"
    )
    return bool(offers_refusal and said_optional)


def refusal_keys(q: Question, audience: str) -> set[str]:
    """Return the keys of a question's 'rather not say' answers."""
    return {o.key for o in q.options if RATHER_NOT_SAY.search(o.label(audience))}


def behind_screening(catalogue: Catalogue, q: Question, audience: str) -> bool:
    """True when ``q`` is only reached through a screening question (possibly via others),
    and never by someone who answered 'rather not say' or skipped it."""
    cond = q.show_if
    while cond is not None:
        target = catalogue.question(cond.question)
        if is_screening(target, audience):
            return not cond.answered and not (set(cond.values) & refusal_keys(target, audience))
        cond = target.show_if
    return False


def sensitive_problem(catalogue: Catalogue, q: Question, audience: str) -> str | None:
    """Return why a question makes a young person or parent say their ethnicity or gender."""
    text = q.text_for(audience)
    if text is None or audience not in SELF_DISCLOSING_AUDIENCES:
        return None
    seen = " ".join([text, q.help_for(audience) or "", *(o.label(audience) for o in q.options)])
    found = SENSITIVE.search(seen)
    if not found or is_screening(q, audience) or behind_screening(catalogue, q, audience):
        return None
    return f"{found.group(0)!r} is not behind an optional screening question"


def sensitive_problems(catalogue: Catalogue) -> list[str]:
    """Return questions that ask a child or parent about ethnicity, race or gender without
    a screening question that offers 'rather not say' in front of them."""
    return [
        f"{q.id} ({aud}): {problem}"
        for bank in catalogue.banks
        for q in bank.questions
        for aud in SELF_DISCLOSING_AUDIENCES
        if (problem := sensitive_problem(catalogue, q, aud)) is not None
    ]


# ---- text messages -------------------------------------------------------------------------
def sms_question(
    text: str,
    help_line: str | None = None,
    labels: Sequence[str] = (),
    progress: tuple[int, int] | None = SMS_PROGRESS,
) -> str:
    """Return a question as a text shows it: progress, the question, help, numbered options.

    The same shape as ``sms.render.question`` (a test holds the two together).
    """
    out = text if progress is None else f"({progress[0]}/{progress[1]}) {text}"
    if help_line:
        out += f"\n{help_line}"
    if labels:
        out += "\n" + "\n".join(f"{i} {label}" for i, label in enumerate(labels, start=1))
    return out


# ---- the builder's report ------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    """One wording measured: its words, grade, and what a lead should know about it."""

    what: str  # "text", "help" or "option <key>"
    text: str
    words: int
    grade: float | None  # None: one word, or not English
    problems: tuple[str, ...] = ()  # refused
    advice: tuple[str, ...] = ()  # shown, not refused

    def as_dict(self) -> dict[str, object]:
        """Return this measure as plain JSON data."""
        return {
            "what": self.what,
            "words": self.words,
            "grade": None if self.grade is None else round(self.grade, 1),
            "problems": list(self.problems),
            "advice": list(self.advice),
        }


def hard_problems(text: str, kind: str = "text") -> list[str]:
    """Return why a wording cannot be saved at all (empty, or far too long)."""
    if not text.strip():
        return ["is empty"]
    max_words, max_chars = HARD_LIMITS[kind]
    n = len(words(text))
    out = []
    if n > max_words:
        out.append(f"has {n} words: at most {max_words} (aim for {MAX_WORDS} or fewer)")
    elif len(text) > max_chars:
        out.append(f"has {len(text)} characters: at most {max_chars}")
    return out


def measure(text: str, *, audience: str, lang: str = ENGLISH, what: str = "text") -> Measure:
    """Measure one wording for an audience in a language, with the banks' rules as advice."""
    kind = "label" if what.startswith("option") else ("help" if what == "help" else "text")
    n = len(words(text))
    grade = None
    if lang == ENGLISH and n > 1:
        grade = float(textstat.flesch_kincaid_grade(text))
    advice: list[str] = []
    if audience == "child" and lang == ENGLISH:
        advice += readability_problems(text) if text.strip() else []
        if CALLED_CHILDREN.search(text):
            advice.append("says 'child': call them young people")
        found = JARGON.search(text)
        if found:
            advice.append(f"jargon a young person may not know: {found.group(0)!r}")
    else:
        limit = ADULT_MAX_GRADE.get(audience)
        if grade is not None and limit is not None and grade > limit:
            advice.append(f"Flesch-Kincaid grade {grade:.1f} > {limit}")
        if n > ADULT_MAX_WORDS:
            advice.append(f"{n} words > {ADULT_MAX_WORDS}")
        if text.count("?") > 1:
            advice.append(f"{text.count('?')} question marks (one idea per question)")
    if kind == "text":
        two = TWO_QUESTIONS.search(text)
        if two and text.count("?") <= 1:
            advice.append(f"may ask two things at once ('{two.group(0)}'): one idea per question")
    advice = [a.replace("no words", "empty") for a in advice]
    return Measure(what, text, n, grade, tuple(hard_problems(text, kind)), tuple(advice))


@dataclass(frozen=True)
class Report:
    """Everything the builder shows about one question for one audience in one language."""

    audience: str
    lang: str
    measures: tuple[Measure, ...]
    sms_parts: int
    sms_characters: int
    sms_encoding: str
    advice: tuple[str, ...] = field(default=())  # about the question as a whole

    @property
    def problems(self) -> tuple[str, ...]:
        """Return what refuses the question, each naming the wording it is about."""
        return tuple(f"{m.what}: {p}" for m in self.measures for p in m.problems)

    def as_dict(self) -> dict[str, object]:
        """Return this report as plain JSON data."""
        return {
            "audience": self.audience,
            "lang": self.lang,
            "measures": [m.as_dict() for m in self.measures],
            "sms": {
                "parts": self.sms_parts,
                "characters": self.sms_characters,
                "encoding": self.sms_encoding,
            },
            "advice": list(self.advice),
            "problems": list(self.problems),
        }


def report(
    text: str,
    *,
    audience: str,
    lang: str = ENGLISH,
    help_line: str | None = None,
    labels: Iterable[tuple[str, str]] = (),
) -> Report:
    """Measure a question as one audience reads it in one language (the builder's checks)."""
    labels = tuple(labels)
    measures = [measure(text, audience=audience, lang=lang)]
    if help_line is not None:
        measures.append(measure(help_line, audience=audience, lang=lang, what="help"))
    measures += [
        measure(label, audience=audience, lang=lang, what=f"option {key}") for key, label in labels
    ]
    sms = sms_text.count(
        sms_text.normalise(sms_question(text, help_line, [label for _, label in labels]))
    )
    limit = MAX_SMS_PARTS.get(lang, MAX_SMS_PARTS_OTHER)
    advice = []
    if sms.parts > limit:
        advice.append(f"as a text message it takes {sms.parts} parts (aim for {limit} or fewer)")
    if audience == "child" and lang == ENGLISH:
        hard = NEEDS_HELP.search(text)
        if hard and not help_line:
            advice.append(f"uses {hard.group(0)!r}: add a help line saying what it means")
    return Report(
        audience, lang, tuple(measures), sms.parts, sms.characters, sms.encoding, tuple(advice)
    )
