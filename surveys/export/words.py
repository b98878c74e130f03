"""The fixed words of the plan in each language: headings, the count line under a group's
quotes, table labels. ``yjvoice export --lang cy`` prints the Word and Markdown plan with
these; the questions and section titles come from the banks in the same language.

The Welsh was drafted by the project team and needs a check by a Welsh speaker before a
plan is published (docs/cy-glossary.md). Not yet in Welsh: the narrative draft and the
method appendix's sentences (the lead writes the narrative in the plan's language), and the
Excel and CSV exports' column headings.
"""

from __future__ import annotations

from surveys.core.catalogue import FIXED_LABELS, RATING_OPTIONS
from surveys.core.vocabulary import AUDIENCE_LABELS, ENGLISH, SENTIMENT_LABELS, SENTIMENTS, WELSH

WORDS: dict[str, dict[str, str]] = {
    ENGLISH: {
        "document": "Voice of children and families",
        "round": "{title} (round {code})",
        "edited": (
            "Any quotes from children and families have been carefully edited to ensure "
            "their anonymity."
        ),
        "voices_child": "Children's voices",
        "voices_parent": "Parents' and carers' voices",
        "ratings": "Ratings",
        "feelings": "How people felt",
        "sentiment_note": "Sentiment of written answers.",
        "actions": "Actions",
        "appendix": "Appendix: how we consulted",
        "who_took_part": "Who took part",
        "people": "People",
        "hidden": "Numbers not shown",
        "all_shown": "Every number in this document is shown.",
        "who": "Who",
        "total": "Total",
        "translation": "English translation: {text}",
    },
    WELSH: {
        "document": "Llais plant a theuluoedd",
        "round": "{title} (rownd {code})",
        "edited": (
            "Mae unrhyw ddyfyniadau gan blant a theuluoedd wedi'u golygu'n ofalus i sicrhau eu "
            "bod yn ddienw."
        ),
        "voices_child": "Lleisiau plant",
        "voices_parent": "Lleisiau rhieni a gofalwyr",
        "ratings": "Sgoriau",
        "feelings": "Sut roedd pobl yn teimlo",
        "sentiment_note": "Teimlad yr atebion ysgrifenedig.",
        "actions": "Camau gweithredu",
        "appendix": "Atodiad: sut gwnaethon ni ymgynghori",
        "who_took_part": "Pwy gymerodd ran",
        "people": "Pobl",
        "hidden": "Rhifau heb eu dangos",
        "all_shown": "Mae pob rhif yn y ddogfen hon wedi'i ddangos.",
        "who": "Pwy",
        "total": "Cyfanswm",
        "translation": "Cyfieithiad Saesneg: {text}",
    },
}
ACTION_COLUMNS = {
    ENGLISH: ("ID", "Achieve", "Do", "Evidence / Measure"),
    WELSH: ("Cyf.", "Cyflawni", "Gwneud", "Tystiolaeth / Mesur"),
}
AUDIENCE_LABELS_CY = {
    "child": "Plant",
    "parent": "Rhieni / gofalwyr",
    "staff": "Staff",
    "partner": "Partneriaid",
}
SENTIMENT_LABELS_CY = {"positive": "Cadarnhaol", "neutral": "Niwtral", "negative": "Negyddol"}
#: A group after "gan" / "o" in the count line (soft mutation: plant -> blant).
_GROUP_CY = {"child": "blant", "parent": "rieni a gofalwyr"}
_SAID_BY_CY = {"child": "bobl ifanc", "parent": "rieni a gofalwyr"}


def word(key: str, lang: str = ENGLISH, **fmt: str) -> str:
    """Return one fixed word of the plan in a language."""
    text = WORDS.get(lang, WORDS[ENGLISH]).get(key) or WORDS[ENGLISH][key]
    return text.format(**fmt) if fmt else text


def audience_label(audience: str, lang: str = ENGLISH) -> str:
    """Return a group's name as a table row names it ("Children", "Plant")."""
    if lang == WELSH:
        return AUDIENCE_LABELS_CY.get(audience, audience)
    return AUDIENCE_LABELS.get(audience, audience)


def rating_labels(lang: str = ENGLISH) -> list[str]:
    """Return the rating table's columns (Very good ... Poor) in a language."""
    fixed = FIXED_LABELS.get(lang, {})
    return [fixed.get(key, label) for key, label in RATING_OPTIONS]


def sentiment_labels(lang: str = ENGLISH) -> list[str]:
    """Return the sentiment table's columns in a language."""
    if lang == WELSH:
        return [SENTIMENT_LABELS_CY[s] for s in SENTIMENTS]
    return [SENTIMENT_LABELS[s] for s in SENTIMENTS]


def count_line(audience: str, count: str, lang: str = ENGLISH) -> str:
    """Return the line under a group's quotes: "(A selection from responses from 12 children
    compiled for this plan)"; ``count`` is "" when the number is not shown."""
    if lang == WELSH:
        group = _GROUP_CY.get(audience, audience)
        who = f"{count} o {group}" if count else group
        return f"(Detholiad o ymatebion gan {who} a gasglwyd ar gyfer y cynllun hwn)"
    group = AUDIENCE_LABELS.get(audience, audience).lower()
    who = f"{count} {group}" if count else group
    return f"(A selection from responses from {who} compiled for this plan)"


def said_by(count: int, audience: str, lang: str = ENGLISH) -> str:
    """Return "(3 young people said this)" for a quote several people gave, else ""."""
    if count < 2:
        return ""
    if lang == WELSH:
        return f"(Dywedodd {count} o {_SAID_BY_CY.get(audience, 'bobl')} hyn)"
    who = "young people" if audience == "child" else AUDIENCE_LABELS.get(audience, "").lower()
    return f"({count} {who} said this)"
