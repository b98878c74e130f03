"""The plan as Markdown: the same content as the Word document, plain."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import IO

from surveys.export import words
from surveys.export.docx import section_heading
from surveys.export.plan import (
    Plan,
    Section,
    VoiceBox,
    method_lines,
    printable,
    said_by,
    who_took_part,
)
from surveys.export.suppression import SafeTable

# Brackets too: a young person's "[click me](javascript:alert(1))" must stay words, not a
# live link (the placeholders [name], [school] print the same either way).
_SPECIAL = re.compile(r"([\\`*_{}\[\]#+!|~])")


def escape(text: str) -> str:
    """Return user text that Markdown prints as written (no emphasis, links or HTML)."""
    text = " ".join(printable(text).split())  # one line: a quote or a cell never breaks the layout
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(escape(h) for h in header) + " |"]
    out.append("|" + "|".join("---" for _ in header) + "|")
    out += ["| " + " | ".join(escape(str(v)) for v in r) + " |" for r in rows]
    return [*out, ""]


def _box(box: VoiceBox, prefix: str = "> ") -> list[str]:
    """Return one group's voices as a block quote (the plan prints each group boxed)."""
    lines = [f"**{box.heading}**", ""]
    for q in box.questions:
        lines += [f"*{escape(q.wording)}*", ""]
        for quote in q.quotes:
            count = said_by(quote, box.audience, box.lang)
            line = f"- \u201c{escape(quote.text)}\u201d" + (f" {count}" if count else "")
            if quote.translation:
                english = f"\u201c{escape(quote.translation)}\u201d"
                line += " " + words.word("translation", box.lang, text=english)
            lines.append(line)
        lines.append("")
    lines += [box.footer, ""]
    return [(prefix + line).rstrip() for line in lines]


def _pct_rows(t: SafeTable) -> list[list[str]]:
    # Percentages only: a count of people is printed in the method table alone.
    return [
        [t.rows[i], *(t.percent_text(i, j) for j in range(len(t.columns)))]
        for i in range(len(t.rows))
    ]


def _section(s: Section, lang: str = "en") -> list[str]:
    lines = [f"## {escape(section_heading(s))}", ""]
    who = words.word("who", lang)
    for box in s.voice_boxes:
        lines += [*_box(box), ""]
    if s.narrative:
        lines += [escape(s.narrative), ""]
    if s.ratings:
        lines += [f"### {words.word('ratings', lang)}", ""]
        for r in s.ratings:
            lines += [f"*{escape(r.wording)}*", ""]
            lines += _table([who, *r.table.columns], _pct_rows(r.table))
    if s.sentiment.rows:
        lines += [f"### {words.word('feelings', lang)}", ""]
        lines += _table([who, *s.sentiment.columns], _pct_rows(s.sentiment))
    if s.actions:
        lines += [f"### {words.word('actions', lang)}", ""]
        rows = [[a.id, a.achieve, a.do, a.evidence] for a in s.actions]
        lines += _table(words.ACTION_COLUMNS[lang], rows)
    return lines


def render_markdown(plan: Plan) -> str:
    """Return the whole plan as Markdown text."""
    lang = plan.lang
    lines = [f"# {words.word('document', lang)}", ""]
    lines += [words.word("round", lang, title=escape(plan.round.title), code=plan.round.code), ""]
    lines += [words.word("edited", lang), ""]
    for s in plan.sections:
        lines += _section(s, lang)
    lines += [f"## {words.word('appendix', lang)}", ""]
    lines += [escape(line) + "\n" for line in method_lines(plan)]
    header, rows = who_took_part(plan)
    if rows:
        lines += [f"### {words.word('who_took_part', lang)}", ""]
        lines += _table(header, rows)
    lines += [f"### {words.word('hidden', lang)}", ""]
    hidden = plan.suppressed
    lines += [
        f"- {escape(line)}" for line in words.hidden_lines(list(hidden), plan.min_group, lang)
    ] or [words.word("all_shown", lang)]
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(plan: Plan, out: IO[str], *, allow_empty: bool = False) -> None:
    """Write the plan as Markdown to a text stream; NoApprovedQuotes unless some approved."""
    if not allow_empty:
        plan.require_quotes()
    out.write(render_markdown(plan))
