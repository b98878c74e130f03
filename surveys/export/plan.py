"""The plan's tables for one round: quotes per priority and question, ratings, actions, method.

``plan_from_rows`` is a pure function every exporter shares: it takes the plain rows declared
here (``AnswerRow``, ``ActionRow``, ``RoundInfo``), which ``surveys.storage.queries`` reads
from the database (never the raw answer text: the column is not even selected) and
``surveys.services.exporting.build_plan`` hands over.

What may be printed:

* **Quotes**: live answers that are approved (``review_status == "approved"``), not flagged,
  without a safeguarding case, chosen as quotes (``is_quote``), that went through redaction
  (``redacted`` set) and the second reading (not still "being read" by the recall net in a
  worker), from young people or parents / carers; printed as
  ``publishable_text`` (the lead's light edit, else the redacted text).
* **N** ("A selection from responses from N children"): distinct respondents of that
  audience with at least one live answer in the round: the group's count in the method
  table, printed (or hidden) exactly as that table prints it. Flagged and not yet approved
  answers count: they are real people who took part, only their words are never printed.
  Withdrawn respondents are deleted, so they do not count.
* **Ratings**: every live rating answer (a tapped choice, no words to approve).
* **Sentiment balance**: live, unflagged written answers with a sentiment, whether
  approved yet or not (the lead needs the picture to write the narrative).
* **Actions**: accepted proposals only, numbered ``<priority number>:<sequence> <agency>``,
  the priority number being the bank's plan order (4 = Diversion).

Sections: the round's priorities in plan order, plus any other priority with something to
print (an answer a reviewer moved there, an accepted action, the ratings of "About the
service"). Answers are filed under their effective priority (the reviewer's move wins).
Staff and partners speak through the action table, not the quote boxes.

Every count broken down by a group goes through ``suppression.suppress``; the plan keeps
the list of everything hidden so the lead can see it. A document must not let anyone work a
hidden number out by adding or subtracting printed ones, across tables too. So the plan
prints people as counts in one table only (the method table: group by channel, with its
totals, suppressed as one table), and every box's N is that table's group total; ratings and
feelings are printed as percentages of those who answered, never as counts of people.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from surveys.core.catalogue import RATING_OPTIONS, Catalogue
from surveys.core.vocabulary import (
    AUDIENCE_LABELS,
    AUDIENCES,
    CHANNEL_PHRASES,
    QUOTE_AUDIENCES,
    SENTIMENTS,
)
from surveys.export import narrative, words
from surveys.export.suppression import (
    MIN_GROUP,
    SafeTable,
    Suppression,
    fewer_than,
    percent,
    suppress,
)

UNKNOWN_QUESTION = "Other comments"
NO_QUOTES = "No quotes have been approved yet"


class NoApprovedQuotes(Exception):
    """The round has no approved quotes: an export would look empty, so it is refused."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(
            f"{NO_QUOTES} in round {code}: approve answers as quotes in the review queue "
            "(or with `yjvoice review`), then export again"
        )


class AnswerRow(NamedTuple):
    """What the plan needs of one live answer; never its raw text.

    A named tuple, not a dataclass: a round can hold 100,000 of these, built in a loop.
    """

    id: int
    respondent_id: str
    priority: str
    question_id: str
    audience: str
    channel: str
    choice: str | None
    publishable_text: str
    sentiment: str | None
    quotable: bool  # approved, unflagged, no case, redacted, read in full, chosen as quote
    flagged: bool
    themes: tuple[str, ...] = ()  # codebook theme keys tagged on the answer
    language: str = "en"  # the language the question was asked in (words kept as given)
    translation: str = ""  # the lead's English translation of a quote in another language


@dataclass(frozen=True)
class ActionRow:
    """An accepted proposal as the plan prints it."""

    priority: str
    agency: str
    achieve: str
    do: str
    evidence: str


@dataclass(frozen=True)
class RoundInfo:
    """The round facts the method appendix prints."""

    code: str
    title: str
    status: str
    priorities: tuple[str, ...]
    audiences: tuple[str, ...]
    created_on: date
    opened_on: date | None
    closed_on: date | None
    closes_on: date | None
    first_answer: date | None = None
    last_answer: date | None = None


class Quote(NamedTuple):
    """One printed quote, and how many people gave these same words.

    ``translation``: the lead's English translation of a quote given in another language,
    printed after it in an English plan.
    """

    text: str
    # People who gave these words. It hides tuple.count, which nothing here calls.
    count: int = 1  # type: ignore[assignment]
    translation: str = ""


@dataclass(frozen=True)
class QuestionQuotes:
    """One question as one audience was asked it, with the quotes chosen from its answers."""

    question_id: str
    wording: str
    quotes: tuple[Quote, ...]


@dataclass(frozen=True)
class VoiceBox:
    """The quotes of one audience for one priority, with how many took part."""

    audience: str
    n: int
    n_text: str  # the number, or "fewer than 10"
    questions: tuple[QuestionQuotes, ...]
    lang: str = "en"  # the plan's language

    @property
    def quote_count(self) -> int:
        """Return how many quotes the box prints."""
        return sum(len(q.quotes) for q in self.questions)

    @property
    def quote_total(self) -> int:
        """Return how many people's answers the box's quotes stand for (merged ones count)."""
        return sum(q.count for qq in self.questions for q in qq.quotes)

    @property
    def heading(self) -> str:
        """Return the box's heading."""
        return words.word(
            "voices_child" if self.audience == "child" else "voices_parent", self.lang
        )

    @property
    def footer(self) -> str:
        """Return the line printed under the quotes: the same words for every box."""
        count = "" if self.n_text == words.word("not_shown", self.lang) else self.n_text
        return words.count_line(self.audience, count, self.lang)


def said_by(quote: Quote, audience: str, lang: str = "en") -> str:
    """Return "(3 young people said this)" for a quote several people gave, else ""."""
    return words.said_by(quote.count, audience, lang)


@dataclass(frozen=True)
class RatingTable:
    """A rating question as a percentage table, one row per audience."""

    question_id: str
    wording: str
    audiences: tuple[str, ...]
    table: SafeTable


@dataclass(frozen=True)
class Action:
    """One row of the action table."""

    id: str
    agency: str
    achieve: str
    do: str
    evidence: str


@dataclass(frozen=True)
class Section:
    """One priority of the plan."""

    key: str
    number: int
    title: str
    boxes: tuple[VoiceBox, ...]
    ratings: tuple[RatingTable, ...]
    sentiment: SafeTable
    actions: tuple[Action, ...]
    narrative: str = ""  # the lead's words, else the draft
    draft: str = ""  # the narrative written from the section's own figures, themes and quotes
    gaps: tuple[str, ...] = ()  # what is empty, for the export page (never printed)

    @property
    def quote_count(self) -> int:
        """Return how many quotes the section prints."""
        return sum(b.quote_count for b in self.boxes)

    @property
    def voice_boxes(self) -> tuple[VoiceBox, ...]:
        """Return the boxes the plan prints: those with a quote (never an empty box)."""
        return tuple(b for b in self.boxes if b.questions)

    def box(self, audience: str) -> VoiceBox | None:
        """Return one audience's box, if it has one."""
        return next((b for b in self.boxes if b.audience == audience), None)


@dataclass(frozen=True)
class Method:
    """The method appendix: when, how, how many, and what was hidden."""

    round: RoundInfo
    first_answer: date | None
    last_answer: date | None
    respondents: SafeTable  # people per group, with the total
    channels: tuple[str, ...]
    answers_total: int
    quotes_total: int
    min_group: int


@dataclass(frozen=True)
class Plan:
    """Everything an exporter prints for one round."""

    round: RoundInfo
    sections: tuple[Section, ...]
    method: Method
    min_group: int
    lang: str = "en"

    @property
    def quote_count(self) -> int:
        """Return how many quotes the plan prints."""
        return sum(s.quote_count for s in self.sections)

    @property
    def gaps(self) -> tuple[str, ...]:
        """Return what is empty, section by section ("Policing: no actions accepted yet")."""
        return tuple(f"{s.title}: {gap}" for s in self.sections for gap in s.gaps)

    @property
    def suppressed(self) -> tuple[Suppression, ...]:
        """Return every hidden entry of every table, in the order they are printed."""
        out: list[Suppression] = []
        for s in self.sections:
            for r in s.ratings:
                out.extend(r.table.suppressed)
            out.extend(s.sentiment.suppressed)
        out.extend(self.method.respondents.suppressed)
        return tuple(out)

    def require_quotes(self) -> None:
        """Raise NoApprovedQuotes when there is nothing to print."""
        if self.quote_count == 0:
            raise NoApprovedQuotes(self.round.code)


def plan_from_rows(
    info: RoundInfo,
    rows: Sequence[AnswerRow],
    actions: Iterable[ActionRow],
    catalogue: Catalogue,
    *,
    min_group: int = MIN_GROUP,
    narratives: Mapping[str, str] | None = None,
    theme_labels: Mapping[str, str] | None = None,
    lang: str = "en",
) -> Plan:
    """Return the plan for a round from its answer rows and accepted proposals.

    ``narratives`` holds the lead's own narrative per priority key (a draft is written for
    the others); ``theme_labels`` names the codebook's themes for the drafts. ``lang`` is the
    plan's language: section titles, question wording and fixed words (quotes are printed
    as given, whatever their language; an English plan adds the lead's translation).
    """
    if min_group < 1:
        raise ValueError("min_group must be at least 1")
    order = {b.key: b.order for b in catalogue.banks}
    titles = {b.key: b.title_in(lang) for b in catalogue.banks}
    q_rank: dict[str, tuple[int, int]] = {}
    for b in catalogue.banks:
        for k, q in enumerate(b.questions):
            q_rank[q.id] = (b.order, k)

    by_priority: dict[str, list[AnswerRow]] = defaultdict(list)
    for r in rows:
        by_priority[r.priority].append(r)
    actions_by: dict[str, list[ActionRow]] = defaultdict(list)
    for a in actions:
        actions_by[a.priority].append(a)

    rating_keys = {k for k, _ in RATING_OPTIONS}

    def has_content(key: str) -> bool:
        # Outside the round's own priorities (answers moved by a reviewer, the general
        # questions about the service) a section appears only when it has something to print.
        return key in actions_by or any(
            r.quotable or r.choice in rating_keys for r in by_priority.get(key, ())
        )

    wanted = set(info.priorities)
    keys = [b.key for b in catalogue.banks if b.key in wanted or has_content(b.key)]
    # A priority unknown to the banks (a bank since removed) still gets its section, last.
    keys += sorted(k for k in {*by_priority, *actions_by} if k not in order and has_content(k))

    method = _method(info, rows, min_group, lang)
    group_n = _group_counts(method.respondents, lang)
    sections = []
    for key in keys:
        sections.append(
            _section(
                key,
                order.get(key, 0),
                titles.get(key, key),
                by_priority.get(key, []),
                actions_by.get(key, []),
                catalogue,
                q_rank,
                min_group,
                (narratives or {}).get(key, ""),
                theme_labels or {},
                group_n,
                lang,
            )
        )
    return Plan(info, tuple(sections), method, min_group, lang)


def _wording(catalogue: Catalogue, qid: str, audience: str, lang: str = "en") -> tuple[str, str]:
    try:
        q = catalogue.question(qid)
    except KeyError:
        return UNKNOWN_QUESTION, "text"
    return q.text_for(audience, lang) or UNKNOWN_QUESTION, q.type


def _heading(catalogue: Catalogue, qid: str, audience: str, lang: str = "en") -> str:
    try:
        return catalogue.heading(qid, audience, lang) or UNKNOWN_QUESTION
    except KeyError:
        return UNKNOWN_QUESTION


def _section(
    key: str,
    number: int,
    title: str,
    rows: list[AnswerRow],
    actions: list[ActionRow],
    catalogue: Catalogue,
    q_rank: dict[str, tuple[int, int]],
    min_group: int,
    narrative: str,
    theme_labels: Mapping[str, str],
    group_n: Mapping[str, str],
    lang: str = "en",
) -> Section:
    people: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        people[r.audience].add(r.respondent_id)

    boxes, gaps = [], []
    for aud in QUOTE_AUDIENCES:
        quotes: dict[str, list[str]] = defaultdict(list)
        translations: dict[str, str] = {}
        for r in rows:
            if r.audience == aud and r.quotable:
                quotes[r.question_id].append(r.publishable_text)
                if r.translation and r.language != lang:
                    translations.setdefault(r.publishable_text, r.translation)
        n = len(people.get(aud, ()))
        if not quotes and n == 0:
            continue
        if not quotes:  # people answered, but nothing of theirs is chosen to print yet
            group = "children's" if aud == "child" else "parents' and carers'"
            gaps.append(f"no {group} quotes chosen yet")
        questions = []
        for qid in sorted(quotes, key=lambda q: (q_rank.get(q, (10**6, 0)), q)):
            wording = _heading(catalogue, qid, aud, lang)
            merged = tuple(
                q._replace(translation=translations.get(q.text, "")) if lang == "en" else q
                for q in merge_quotes(quotes[qid])
            )
            questions.append(QuestionQuotes(qid, wording, merged))
        # N is the group's own count in the method table (shown or hidden the same way):
        # one count of each group in the whole document, so no two can be subtracted.
        n_text = group_n.get(aud, _count_text(n, min_group, lang))
        boxes.append(VoiceBox(aud, n, n_text, tuple(questions), lang))
    if not people:
        gaps.append("nobody has answered yet")
    if not actions:
        gaps.append("no actions accepted yet")

    ratings = _ratings(title, rows, catalogue, q_rank, min_group, lang)
    sentiment = _sentiment(title, rows, people, min_group, lang)
    numbered = [
        Action(f"{number}:{seq} {a.agency}".strip(), a.agency, a.achieve, a.do, a.evidence)
        for seq, a in enumerate(actions, start=1)
    ]
    draft = draft_narrative(title, rows, people, sentiment, tuple(boxes), theme_labels, lang)
    return Section(
        key,
        number,
        title,
        tuple(boxes),
        ratings,
        sentiment,
        tuple(numbered),
        narrative=narrative.strip() or draft,
        draft=draft,
        gaps=tuple(gaps),
    )


def _quote_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.casefold()).split())


def merge_quotes(texts: Iterable[str]) -> tuple[Quote, ...]:
    """Return quotes with identical words merged (case, spacing and punctuation aside),
    each with how many gave it, in the order they first came."""
    first: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for text in texts:
        k = _quote_key(text) or text
        first.setdefault(k, text)
        counts[k] += 1
    return tuple(Quote(first[k], counts[k]) for k in first)


def draft_narrative(
    title: str,
    rows: Sequence[AnswerRow],
    people: Mapping[str, set[str]],
    sentiment: SafeTable,
    boxes: Sequence[VoiceBox],
    theme_labels: Mapping[str, str],
    lang: str = "en",
) -> str:
    """Return the draft narrative of a section from its own printed figures and quotes."""
    voices = []
    for aud in QUOTE_AUDIENCES:
        box = next((b for b in boxes if b.audience == aud), None)
        if not people.get(aud) or box is None:
            continue
        feeling = None
        label = words.audience_label(aud, lang)
        if label in sentiment.rows:
            i = sentiment.rows.index(label)
            total = sentiment.row_totals[i] if sentiment.row_totals else None
            if total and not any(v is None for v in sentiment.cells[i]):
                p, u, g = (percent(v or 0, total) for v in sentiment.cells[i])
                feeling = (p, u, g)
        tagged: Counter[str] = Counter()
        for r in rows:
            # The codebook's labels are English: a Welsh draft names no themes.
            if r.audience == aud and not r.flagged and lang == "en":
                tagged.update(t for t in set(r.themes) if t in theme_labels)
        themes = tuple(
            theme_labels[t].lower()
            for t, c in tagged.most_common(3)
            if c >= narrative.MIN_THEME_ANSWERS
        )
        quote = _representative(box)
        voices.append(narrative.Voices(aud, box.n_text, feeling, themes, quote))
    return narrative.draft(title, voices, lang)


def _representative(box: VoiceBox | None) -> str | None:
    """Return the quote most people gave (the first chosen, when none was given twice)."""
    if box is None:
        return None
    quotes = [q for qq in box.questions for q in qq.quotes]
    if not quotes:
        return None
    return max(quotes, key=lambda q: q.count).text  # max() keeps the first of equals


def _group_counts(respondents: SafeTable, lang: str = "en") -> dict[str, str]:
    """Return each group's count of people as the method table prints it."""
    labels = {words.audience_label(a, lang): a for a in AUDIENCES}
    return {
        labels[label]: respondents.cell_text(i, 0)
        for i, label in enumerate(respondents.rows)
        if label in labels
    }


def _count_text(n: int, min_group: int, lang: str = "en") -> str:
    if 0 < n < min_group:
        return words.word("fewer_than", lang, n=str(min_group))
    return str(n)


def _in_words(table: SafeTable, lang: str) -> SafeTable:
    """Return a table whose hidden numbers are printed in the plan's language."""
    if lang == "en":
        return table
    return table.with_words(words.word("fewer_than", lang), words.word("not_shown", lang))


def _ratings(
    title: str,
    rows: list[AnswerRow],
    catalogue: Catalogue,
    q_rank: dict[str, tuple[int, int]],
    min_group: int,
    lang: str = "en",
) -> tuple[RatingTable, ...]:
    keys = [k for k, _ in RATING_OPTIONS]
    counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for r in rows:
        if r.choice in keys and _wording(catalogue, r.question_id, r.audience)[1] == "rating":
            counts[r.question_id][r.audience][r.choice] += 1
    out = []
    for qid in sorted(counts, key=lambda q: (q_rank.get(q, (10**6, 0)), q)):
        auds = tuple(a for a in AUDIENCES if a in counts[qid])
        wording = _wording(catalogue, qid, auds[0], lang)[0]
        table = suppress(
            [[counts[qid][a][k] for k in keys] for a in auds],
            rows=[words.audience_label(a, lang) for a in auds],
            columns=words.rating_labels(lang),
            title=f"{title}: {wording}",
            min_group=min_group,
            rule="row",
            row_totals=True,  # printed as percentages, which add up to 100
        )
        out.append(RatingTable(qid, wording, auds, _in_words(table, lang)))
    return tuple(out)


def _sentiment(
    title: str,
    rows: list[AnswerRow],
    people: dict[str, set[str]],
    min_group: int,
    lang: str = "en",
) -> SafeTable:
    labels = list(SENTIMENTS)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r.audience in QUOTE_AUDIENCES and r.sentiment in labels and not r.flagged:
            counts[r.audience][r.sentiment] += 1
    auds = [a for a in QUOTE_AUDIENCES if counts.get(a)]
    table = suppress(
        [[counts[a][k] for k in labels] for a in auds],
        rows=[words.audience_label(a, lang) for a in auds],
        columns=words.sentiment_labels(lang),
        title=f"{title}: sentiment of written answers",
        min_group=min_group,
        rule="row",
        row_totals=True,
        # Answers are counted, but the group is the people who gave them.
        group_sizes=[len(people.get(a, ())) for a in auds],
    )
    return _in_words(table, lang)


def _method(info: RoundInfo, rows: Sequence[AnswerRow], min_group: int, lang: str = "en") -> Method:
    channels = sorted({r.channel for r in rows})
    who: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        who[r.audience].add(r.respondent_id)
    auds = [a for a in AUDIENCES if who.get(a)]
    # One count per group, and their total: the only counts of people the plan prints, so
    # nothing printed elsewhere can be subtracted from them (channels are named in words).
    respondents = suppress(
        [[len(who[a])] for a in auds],
        rows=[words.audience_label(a, lang) for a in auds],
        columns=[words.word("people", lang)],
        title=words.word("who_took_part", lang),
        min_group=min_group,
        rule="cell",
        column_totals=True,
        keep_cells=True,  # each group's count is its boxes' N: hide the total instead
    )
    respondents = _in_words(respondents, lang)
    return Method(
        round=info,
        first_answer=info.first_answer,
        last_answer=info.last_answer,
        respondents=respondents,
        channels=tuple(channels),
        answers_total=len(rows),
        quotes_total=sum(1 for r in rows if r.quotable and r.audience in QUOTE_AUDIENCES),
        min_group=min_group,
    )


_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """Return text every export format can hold: control characters and lone surrogates go."""
    return _UNPRINTABLE.sub("", text)


def who_took_part(plan: Plan) -> tuple[list[str], list[list[str]]]:
    """Return the method's table as every format prints it: a header and rows of text."""
    t = plan.method.respondents
    rows = [[t.rows[i], t.cell_text(i, 0)] for i in range(len(t.rows))]
    if t.rows:
        rows.append([words.word("total", plan.lang), t.column_total_text(0)])
    return [words.word("who", plan.lang), words.word("people", plan.lang)], rows


def method_lines(plan: Plan) -> list[str]:
    """Return the method appendix as plain sentences (every exporter prints these)."""
    if plan.lang == "cy":
        return words.method_lines_cy(plan)
    m, info = plan.method, plan.round
    lines = [f"Round {info.code}: {info.title}."]
    when = []
    if info.opened_on:
        when.append(f"opened on {info.opened_on:%d %B %Y}")
    if info.closed_on:
        when.append(f"closed on {info.closed_on:%d %B %Y}")
    elif info.closes_on:
        when.append(f"due to close on {info.closes_on:%d %B %Y}")
    if when:
        lines.append("The consultation " + " and ".join(when) + ".")
    if m.first_answer and m.last_answer:
        lines.append(
            f"Answers were received from {m.first_answer:%d %B %Y} to {m.last_answer:%d %B %Y}."
        )
    auds = _and([AUDIENCE_LABELS.get(a, a).lower() for a in info.audiences])
    how = _and([CHANNEL_PHRASES.get(c, c) for c in m.channels])
    lines.append(
        f"We asked {auds}" + (f", {how}," if how else "") + " in short plain "
        "questions that could be skipped; nobody had to say who they are."
    )
    lines.append(f"{m.answers_total} answers were given; {m.quotes_total} were chosen as quotes.")
    lines.append(
        "Quotes were read and approved by the youth justice service before publication. "
        "Names and other details that could identify anyone were removed or replaced "
        "with a placeholder such as [name]. Answers that raised a safeguarding concern "
        "went to the service's safeguarding lead and are never published."
    )
    lines.append(
        "N is the number of different people of each group who took part in the "
        "consultation (whether or not their words are quoted). Ratings and feelings are "
        "given as percentages of those who answered."
    )
    lines.append(
        f"Any number about a group of fewer than {m.min_group} people is shown as "
        f'"{fewer_than(m.min_group)}", and where such a number could be worked out from '
        'a total, another number or the total is also hidden ("not shown").'
    )
    return lines


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
