"""A first draft of each priority's narrative, written from the section's own content.

Published plans follow each "Children's voices" box with a few sentences by the lead: how
many answered, how they felt, what they said most, in plain words. This module drafts them
so the lead starts from something true rather than a blank page, and edits them before
export. No language model: every sentence comes from a template filled with figures the
plan already prints (the box's N, suppressed the same way), the sentiment balance in words
(never a new number), the codebook themes tagged most often, and one of the chosen quotes.
So a lead can check every word against the tables it sits beside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Share of written answers (in %) above which one feeling is "most".
MOST = 60
#: A theme must be tagged on at least this many answers to be called a main theme.
MIN_THEME_ANSWERS = 2


@dataclass(frozen=True)
class Voices:
    """What one group said on a priority, as the draft needs it."""

    audience: str  # child | parent
    n_text: str  # the printed N: "12" or "fewer than 10"
    feeling: tuple[int, int, int] | None  # % positive, neutral, negative; None when hidden
    themes: tuple[str, ...]  # theme labels, most tagged first
    quote: str | None  # one chosen quote


def _people(v: Voices) -> str:
    noun = "young people" if v.audience == "child" else "parents and carers"
    if v.n_text == "1":
        noun = "young person" if v.audience == "child" else "parent or carer"
    return f"{v.n_text} {noun}"


def _feeling(v: Voices, topic: str) -> str:
    if v.feeling is None:
        return ""
    pos, neu, neg = v.feeling
    who = "they" if v.audience == "child" else "parents and carers"
    if pos >= MOST:
        return f"Most of what {who} wrote about {topic} was positive."
    if neg >= MOST:
        return f"Most of what {who} wrote about {topic} was critical."
    if neu >= MOST:
        return f"Most of what {who} wrote about {topic} was neither positive nor negative."
    if pos > neg:
        return f"Views on {topic} were mixed, leaning positive."
    if neg > pos:
        return f"Views on {topic} were mixed, leaning critical."
    return f"Views on {topic} were mixed."


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def draft(title: str, voices: Sequence[Voices], lang: str = "en") -> str:
    """Return the draft narrative of one priority ("" when nobody answered)."""
    voices = [v for v in voices if v.n_text not in ("", "0")]
    if not voices:
        return ""
    if lang == "cy":
        return _draft_cy(title, voices)
    topic = title[:1].lower() + title[1:] if not title[:2].isupper() else title
    sentences = [f"{_and([_people(v) for v in voices])} answered questions on {topic}."]
    for v in voices:
        if feeling := _feeling(v, topic):
            sentences.append(feeling)
        if v.themes:
            who = "Young people" if v.audience == "child" else "Parents and carers"
            sentences.append(f"{who} most often wrote about {_and(list(v.themes))}.")
        if v.quote:
            one = "One young person" if v.audience == "child" else "One parent or carer"
            sentences.append(f"{one} said: \u201c{v.quote}\u201d")
    return " ".join(sentences)


# Welsh: drafted by the project team, to be checked by a Welsh speaker (docs/cy-glossary.md).
# The section's title is named after "ar y pwnc hwn:" so that it needs no mutation.
_PEOPLE_CY = {"child": "o bobl ifanc", "parent": "o rieni a gofalwyr"}
_ONE_CY = {"child": "Dywedodd un person ifanc", "parent": "Dywedodd un rhiant neu ofalwr"}


def _feeling_cy(v: Voices) -> str:
    if v.feeling is None:
        return ""
    pos, neu, neg = v.feeling
    who = "pobl ifanc" if v.audience == "child" else "rhieni a gofalwyr"
    if pos >= MOST:
        return f"Roedd y rhan fwyaf o'r hyn a ysgrifennodd {who} yn gadarnhaol."
    if neg >= MOST:
        return f"Roedd y rhan fwyaf o'r hyn a ysgrifennodd {who} yn feirniadol."
    if neu >= MOST:
        return (
            f"Doedd y rhan fwyaf o'r hyn a ysgrifennodd {who} ddim yn gadarnhaol nac yn negyddol."
        )
    if pos > neg:
        return "Roedd y farn yn gymysg, ond yn fwy cadarnhaol na beirniadol."
    if neg > pos:
        return "Roedd y farn yn gymysg, ond yn fwy beirniadol na chadarnhaol."
    return "Roedd y farn yn gymysg."


def _draft_cy(title: str, voices: Sequence[Voices]) -> str:
    groups = [f"{v.n_text} {_PEOPLE_CY.get(v.audience, '')}".strip() for v in voices]
    joined = " a ".join(groups)
    sentences = [f"Atebodd {joined} gwestiynau ar y pwnc hwn: {title}."]
    for v in voices:
        if feeling := _feeling_cy(v):
            sentences.append(feeling)
        if v.quote:
            sentences.append(
                f"{_ONE_CY.get(v.audience, 'Dywedodd un person')}: \u201c{v.quote}\u201d"
            )
    return " ".join(sentences)
