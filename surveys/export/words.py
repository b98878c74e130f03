"""The fixed words of the plan in each language: headings, the count line under a group's
quotes, table labels. ``yjvoice export --lang cy`` prints the Word and Markdown plan with
these (Excel too); the questions and section titles come from the banks in the same language.

The Welsh was drafted by the project team and needs a check by a Welsh speaker before a
plan is published (docs/cy-glossary.md). The method appendix and the narrative draft are in
Welsh too (the draft names no themes: the codebook's labels are English). Not yet in Welsh:
the CSV's column names (machine-readable keys; its audience labels are in Welsh).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from surveys.core.catalogue import FIXED_LABELS, RATING_OPTIONS
from surveys.core.vocabulary import AUDIENCE_LABELS, ENGLISH, SENTIMENT_LABELS, SENTIMENTS, WELSH
from surveys.export.suppression import TOTAL, Suppression, summarise

if TYPE_CHECKING:  # the plan imports this module
    from datetime import date

    from surveys.export.plan import Plan

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
        "fewer_than": "fewer than {n}",
        "not_shown": "not shown",
        "hidden_row": "not shown (fewer than {n} people)",
        # The Excel workbook's sheets and columns.
        "summary": "Summary",
        "quotes": "Quotes",
        "audience": "Audience",
        "quote": "Quote",
        "question": "Question",
        "people_said": "People who said this",
        "group_n": "N (people of this group who took part)",
        "rating": "Rating: {wording}",
        "sentiment_sheet": "Sentiment of written answers",
        "round_label": "Round",
        "priority": "Priority",
        "children_n": "Children (N)",
        "parents_n": "Parents / carers (N)",
        "method": "Method",
        "table": "Table",
        "row": "Row",
        "column": "Column",
        "kind": "Kind",
        "why": "Why",
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
        "fewer_than": "llai na {n}",
        "not_shown": "heb ei ddangos",
        "hidden_row": "heb ei ddangos (llai na {n} o bobl)",
        "summary": "Crynodeb",
        "quotes": "Dyfyniadau",
        "audience": "Grŵp",
        "quote": "Dyfyniad",
        "question": "Cwestiwn",
        "people_said": "Pobl a ddywedodd hyn",
        "group_n": "N (pobl o'r grŵp hwn a gymerodd ran)",
        "rating": "Sgôr: {wording}",
        "sentiment_sheet": "Teimlad yr atebion ysgrifenedig",
        "round_label": "Rownd",
        "priority": "Blaenoriaeth",
        "children_n": "Plant (N)",
        "parents_n": "Rhieni / gofalwyr (N)",
        "method": "Dull",
        "table": "Tabl",
        "row": "Rhes",
        "column": "Colofn",
        "kind": "Math",
        "why": "Pam",
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


_MONTHS_CY = (
    "Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin",
    "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr",
)  # fmt: skip
#: A group after "i" (to): soft mutation (plant -> blant, partneriaid -> bartneriaid).
_ASKED_CY = {"child": "blant", "parent": "rieni a gofalwyr", "staff": "staff",
             "partner": "bartneriaid"}  # fmt: skip
_CHANNELS_CY = {
    "web": "ar ffurflen ar y we",
    "telegram": "drwy Telegram",
    "sms": "drwy neges destun",
    "console": "wyneb yn wyneb",
    "import": "ar bapur a ffurflenni eraill a gofnodwyd wedyn",
}


def _date_cy(day: date) -> str:
    return f"{day.day} {_MONTHS_CY[day.month - 1]} {day.year}"


def _and_cy(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " a " + items[-1]


def method_lines_cy(plan: Plan) -> list[str]:
    """Return the method appendix in Welsh (the same facts as the English sentences)."""
    m, info = plan.method, plan.round
    lines = [f"Rownd {info.code}: {info.title}."]
    if info.opened_on:
        when = f"Agorodd yr ymgynghoriad ar {_date_cy(info.opened_on)}"
        if info.closed_on:
            when += f" a chaeodd ar {_date_cy(info.closed_on)}"
        elif info.closes_on:
            when += f" ac mae i fod i gau ar {_date_cy(info.closes_on)}"
        lines.append(when + ".")
    if m.first_answer and m.last_answer:
        lines.append(
            f"Daeth atebion i law rhwng {_date_cy(m.first_answer)} a {_date_cy(m.last_answer)}."
        )
    asked = _and_cy([_ASKED_CY.get(a, a) for a in info.audiences])
    how = _and_cy([_CHANNELS_CY.get(c, c) for c in m.channels])
    lines.append(
        f"Gofynnon ni i {asked}" + (f", {how}," if how else "") + " gwestiynau byr a syml y "
        "gellid eu hepgor; doedd dim rhaid i neb ddweud pwy ydyn nhw."
    )
    lines.append(
        f"Rhoddwyd {m.answers_total} o atebion; dewiswyd {m.quotes_total} ohonyn nhw fel "
        "dyfyniadau."
    )
    lines.append(
        "Cafodd y dyfyniadau eu darllen a'u cymeradwyo gan y gwasanaeth cyfiawnder ieuenctid "
        "cyn eu cyhoeddi. Cafodd enwau a manylion eraill a allai adnabod unrhyw un eu tynnu "
        "neu eu newid am ddalfan fel [name]. Aeth atebion a oedd yn codi pryder diogelu at "
        "arweinydd diogelu'r gwasanaeth, a dydyn nhw byth yn cael eu cyhoeddi."
    )
    lines.append(
        "N yw nifer y bobl wahanol o bob grŵp a gymerodd ran yn yr ymgynghoriad (p'un a yw "
        "eu geiriau'n cael eu dyfynnu ai peidio). Mae sgoriau a theimladau'n cael eu rhoi fel "
        "canrannau o'r rhai a atebodd."
    )
    fewer = word("fewer_than", WELSH, n=str(m.min_group))
    lines.append(
        f"Mae unrhyw rif am grŵp o lai na {m.min_group} o bobl yn cael ei ddangos fel "
        f'"{fewer}", a lle gellid cyfrifo rhif felly o gyfanswm, mae rhif arall neu\'r '
        f'cyfanswm hefyd wedi\'i guddio ("{word("not_shown", WELSH)}").'
    )
    return lines


def hidden_lines(suppressed: list[Suppression], min_group: int, lang: str = ENGLISH) -> list[str]:
    """Return the "numbers not shown" list in the plan's language."""
    if lang != WELSH:
        return summarise(suppressed)
    seen: dict[tuple[str, str, str], list[str]] = {}
    for s in suppressed:
        seen.setdefault((s.table, s.row, s.kind), []).append(s.column)
    lines = []
    for (table, row, kind), cols in seen.items():
        named = [c for c in cols if c]
        where = f"{row} ({', '.join(named)})" if named else row
        where = where.replace(TOTAL, word("total", WELSH))
        why = (
            f"grŵp o lai na {min_group} o bobl"
            if kind == "primary"
            else "wedi'i guddio hefyd, rhag i rif arall gael ei gyfrifo o'r cyfansymiau"
        )
        lines.append(f"{table} - {where}: {why}.")
    return lines
