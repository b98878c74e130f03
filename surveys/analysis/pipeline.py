"""Analyse each answer: redact, read sentiment, guess the priority, tag codebook themes and
check for safeguarding concerns, in two readings.

Deterministic. Safeguarding has two tiers that both open a case: the lexicon's explainable
**hard flag** (help is shown at once) and the learned recall net's **possible concern**
(``assess.py``; the footer's help is enough), which also takes answers not written in
English ("not read automatically"). The net never removes a hard flag.

* ``first_reading`` runs inside the transaction that stores the answer, so an answer is
  never in the database without its redacted text and its hard-flag check: redaction, the
  lexicon, codebook themes, and the rule readers' sentiment and priority (``sentiment.py``,
  ``priorities.py``; the question's own priority is the prior when the answer replies to a
  priority question). A written answer leaves it ``pending``.
* ``second_reading`` completes it with the learned reading (``assess.assess``, one
  embedding pass, ~20 ms of CPU): the heads' sentiment and priority replace the rules', and
  the net may add a possible concern. The product runs it in a worker just after the commit
  (``surveys.services.assessing``); ``analyse`` runs both at once (``yjvoice safeguard``,
  benchmarks, tests that need the full reading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from surveys.analysis import assess, disclosure, redact
from surveys.analysis import priorities as priority_rules
from surveys.analysis import sentiment as sentiment_rules
from surveys.analysis.clustering import tag_codebook

FLAG, POSSIBLE = "flag", "possible"
#: Conversation languages the safeguarding lexicon reads besides English (safeguard_cy.yaml).
LEXICON_LANGUAGES = frozenset({"cy"})


def language_is_english(language: str | None) -> bool:
    """Return True for an English (or unknown) conversation language."""
    return language in (None, "", "en")


#: A tapped rating says its sentiment plainly; no need to read it.
RATING_SENTIMENT: dict[str, tuple[str, float]] = {
    "very_good": ("positive", 1.0),
    "good": ("positive", 0.5),
    "ok": ("neutral", 0.0),
    "poor": ("negative", -1.0),
}


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis engines say about one answer."""

    redacted: str
    redactions: list[dict[str, Any]] = field(default_factory=list)
    sentiment: str | None = None
    sentiment_score: float | None = None
    priority_guess: str | None = None
    priority_confidence: float | None = None
    themes: list[str] = field(default_factory=list)
    flagged: bool = False  # either tier: a case is opened and no export ever shows it
    flag_categories: list[str] = field(default_factory=list)
    flag_tier: str | None = None  # FLAG, POSSIBLE or None
    flag_score: float | None = None  # the recall net's score (0..1); None when not read
    flag_trigger: list[list[int]] = field(default_factory=list)  # [start, end] in the raw text
    pending: bool = False  # a first reading of written words: the second reading is to come

    @property
    def shows_help_now(self) -> bool:
        """Return True when the respondent must be shown where to get help in this turn."""
        return self.flag_tier == FLAG


def safeguarding(lexicon: disclosure.Safeguard, learned: assess.Assessment) -> dict[str, Any]:
    """Combine the two tiers: the lexicon's hard flag wins; the net can only add a concern."""
    if lexicon.flag:
        return {
            "flagged": True,
            "flag_categories": list(lexicon.categories),
            "flag_tier": FLAG,
            "flag_score": learned.score,
            "flag_trigger": [[m.start, m.end] for m in lexicon.matches],
        }
    if learned.concern:
        return {
            "flagged": True,
            "flag_categories": list(learned.categories) or [assess.NOT_READ],
            "flag_tier": POSSIBLE,
            "flag_score": learned.score,
            "flag_trigger": [list(learned.trigger)] if learned.trigger else [],
        }
    return {"flag_score": learned.score}


def first_reading(
    text: str,
    *,
    choice: str | None = None,
    question_priority: str | None = None,
    question_id: str | None = None,
    redact_config: redact.RedactConfig | None = None,
) -> Analysis:
    """Read an answer as it is stored: everything but the learned reading (cheap, inline).

    Redaction, the lexicon's hard flag, codebook themes and the rule readers' sentiment and
    priority. A tapped choice is already anonymous and says no more than itself; written
    words come back ``pending`` (``second_reading`` completes them).
    """
    if choice is not None:
        label, score = RATING_SENTIMENT.get(choice, (None, None))
        return Analysis(redacted=text, sentiment=label, sentiment_score=score)
    red = redact.redact(text, config=redact_config)
    spans = [
        {
            "start": s.start,
            "end": s.end,
            "category": s.category,
            "original": s.original,
            "placeholder": s.placeholder,
        }
        for s in red.spans
    ]
    # The raw words for safeguarding: redaction must never hide a disclosure.
    check = disclosure.check(text)
    feeling = sentiment_rules.score(text)
    priority, confidence = rule_priority(text, question_priority, question_id)
    hard: dict[str, Any] = {}
    if check.flag:
        hard = {
            "flagged": True,
            "flag_categories": list(check.categories),
            "flag_tier": FLAG,
            "flag_trigger": [[m.start, m.end] for m in check.matches],
        }
    return Analysis(
        redacted=red.text,
        redactions=spans,
        sentiment=feeling.label,
        sentiment_score=feeling.score,
        priority_guess=priority,
        priority_confidence=confidence,
        themes=tag_codebook(red.text),
        pending=True,
        **hard,
    )


#: Evidence the question's own priority adds to the rule reader's scores (its threshold):
#: an answer to a priority question is about it unless its words clearly say otherwise.
PRIOR_WEIGHT = priority_rules.MIN_SCORE


def rule_priority(
    text: str, question_priority: str | None = None, question_id: str | None = None
) -> tuple[str, float]:
    """Return the rule reader's priority and confidence, the question's priority as a prior."""
    found = priority_rules.classify(text)
    prior = assess.prior_for(question_priority, question_id)
    if prior is None:
        return found.priority, found.confidence
    scores = dict(found.scores)
    scores[prior] = scores.get(prior, 0.0) + PRIOR_WEIGHT
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0] != prior, kv[0]))
    (top, best), second = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
    # As the rule reader rates its own guesses: how much evidence, how clear a lead.
    return top, round((1.0 - math.exp(-best / 2.0)) * best / (best + second), 3)


@dataclass(frozen=True)
class Learned:
    """What the learned reading changes about an answer, given what the first one found."""

    sentiment: str | None
    sentiment_score: float | None
    priority_guess: str | None
    priority_confidence: float | None
    flag_score: float | None
    possible: bool = False  # a possible concern to open a case for (never over a hard flag)
    flag_categories: list[str] = field(default_factory=list)
    flag_trigger: list[list[int]] = field(default_factory=list)

    def concern(self) -> dict[str, Any]:
        """Return what the safeguarding case records about a possible concern."""
        return {
            "categories": list(self.flag_categories),
            "tier": POSSIBLE,
            "score": self.flag_score,
            "trigger_spans": [list(s) for s in self.flag_trigger],
        }


def learned(reading: assess.Assessment, *, hard_flag: bool, language: str | None = None) -> Learned:
    """Return what the learned reading adds: the heads' readings and any possible concern.

    ``hard_flag``: the lexicon flagged the answer; the net never removes or downgrades
    that. ``language`` is the conversation's: in a Welsh conversation the lexicon's Welsh
    patterns read the answer, so it is not sent to the "not read automatically" lane (text
    in a language no lexicon reads still is).
    """
    if reading.lane and language in LEXICON_LANGUAGES and not language_is_english(language):
        reading = replace(reading, concern=False, lane=None)
    possible = reading.concern and not hard_flag
    return Learned(
        sentiment=reading.sentiment,
        sentiment_score=reading.sentiment_score,
        priority_guess=reading.priority,
        priority_confidence=reading.priority_confidence,
        flag_score=reading.score,
        possible=possible,
        flag_categories=(list(reading.categories) or [assess.NOT_READ]) if possible else [],
        flag_trigger=[list(reading.trigger)] if possible and reading.trigger else [],
    )


def second_reading(
    first: Analysis, reading: assess.Assessment, *, language: str | None = None
) -> Analysis:
    """Complete a first reading with the learned one (the heads' sentiment and priority
    replace the rules'; the net may add a possible concern, never remove a hard flag)."""
    got = learned(reading, hard_flag=first.flag_tier == FLAG, language=language)
    out = replace(
        first,
        sentiment=got.sentiment,
        sentiment_score=got.sentiment_score,
        priority_guess=got.priority_guess,
        priority_confidence=got.priority_confidence,
        flag_score=got.flag_score,
        pending=False,
    )
    if got.possible:
        out = replace(
            out,
            flagged=True,
            flag_categories=got.flag_categories,
            flag_tier=POSSIBLE,
            flag_trigger=got.flag_trigger,
        )
    return out


def analyse(
    text: str,
    *,
    choice: str | None = None,
    question_priority: str | None = None,
    question_id: str | None = None,
    language: str | None = None,
    redact_config: redact.RedactConfig | None = None,
) -> Analysis:
    """Analyse one answer in full, both readings at once (synchronous).

    ``question_priority`` is the priority (bank) of the question answered: a prior for the
    priority guess unless it is an open question (``general.*``). ``language`` is the
    conversation's language (see ``learned``).
    """
    first = first_reading(
        text,
        choice=choice,
        question_priority=question_priority,
        question_id=question_id,
        redact_config=redact_config,
    )
    if not first.pending:
        return first
    # The heads read the raw words too (a placeholder such as [name] reads worse than a name).
    reading = assess.assess(text, question_priority=question_priority, question_id=question_id)
    return second_reading(first, reading, language=language)


def columns(analysis: Analysis, now: datetime | None = None) -> dict[str, Any]:
    """Return an analysis as the answer columns that hold it.

    ``assessed_at`` is ``now`` (default: the clock) unless the second reading is to come.
    """
    return {
        "redacted": analysis.redacted,
        "redactions": analysis.redactions,
        "sentiment": analysis.sentiment,
        "sentiment_score": analysis.sentiment_score,
        "priority_guess": analysis.priority_guess,
        "priority_confidence": analysis.priority_confidence,
        "themes": analysis.themes,
        "flagged": analysis.flagged,
        "flag_categories": analysis.flag_categories,
        "flag_tier": analysis.flag_tier,
        "flag_score": analysis.flag_score,
        "assessed_at": None if analysis.pending else (now or datetime.now(UTC)),
    }


def concern(analysis: Analysis) -> dict[str, Any]:
    """Return what the safeguarding case records about a flagged answer."""
    return {
        "categories": list(analysis.flag_categories),
        "tier": analysis.flag_tier or FLAG,
        "score": analysis.flag_score,
        "trigger_spans": [list(s) for s in analysis.flag_trigger],
    }
