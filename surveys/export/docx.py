"""The plan as a Word document, laid out the way youth justice plans print the voice of the child.

Per priority, in plan order: the heading, the children's questions in italics with the chosen
quotes as bullets in quotation marks and "(A selection from responses from N children
compiled for this plan)"; the parents' and carers' box (a bordered, shaded one-cell table);
rating questions as percentage tables; a small sentiment chart; the action table. Then the
method appendix, with what was not shown and why.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from surveys.core.vocabulary import SENTIMENT_LABELS, SENTIMENTS
from surveys.export import words
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

BOX_FILL = "EAF1FB"
BOX_BORDER = "1F4E79"
# Colour-blind safe (Okabe-Ito): positive, neutral, negative.
SENTIMENT_COLOURS = ("#009E73", "#BBBBBB", "#D55E00")
ACTION_COLUMNS = words.ACTION_COLUMNS["en"]


def clean(text: str) -> str:
    """Return text Word can hold: characters XML forbids are dropped."""
    return printable(text)


def quoted(text: str) -> str:
    """Return a quote in typographic quotation marks."""
    return f"\u201c{clean(text)}\u201d"


def sentiment_chart(table: SafeTable) -> bytes | None:
    """Return a small PNG bar chart of a sentiment table's printed rows, or None if none.

    Rows that are hidden (small groups) are left out. Rendered with the Agg canvas and no
    pyplot state, so it is thread-safe, and with no timestamp, so it is the same every time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = [i for i in range(len(table.rows)) if not table.row_hidden(i)]
    if not shown:
        return None
    height = 0.45 * len(shown) + 0.9
    fig = Figure(figsize=(6.0, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels = [table.rows[i] for i in shown]
    left = [0.0] * len(shown)
    for j, (key, colour) in enumerate(zip(SENTIMENTS, SENTIMENT_COLOURS, strict=True)):
        name = SENTIMENT_LABELS[key]
        widths = []
        for i in shown:
            total = table.row_totals[i] if table.row_totals else None
            value = table.cells[i][j]
            widths.append(100.0 * value / total if total and value is not None else 0.0)
        bars = ax.barh(labels, widths, left=left, color=colour, label=name, height=0.6)
        for bar, w in zip(bars, widths, strict=True):
            if w >= 9:
                ax.text(
                    bar.get_x() + w / 2,
                    bar.get_y() + bar.get_height() / 2,
                    f"{round(w)}%",
                    ha="center",
                    va="center",
                    fontsize=8,
                )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("% of written answers", fontsize=8)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(ncols=3, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    # Fixed margins (inches) rather than tight_layout, which draws the figure twice.
    fig.subplots_adjust(left=1.3 / 6.0, right=0.97, bottom=0.45 / height, top=1 - 0.35 / height)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


class _Writer:
    """Builds one document; keeps the styles it looks up (faster than by name each time)."""

    def __init__(self, plan: Plan, charts: bool) -> None:
        self.plan, self.charts = plan, charts
        self.doc: Any = Document()
        styles = self.doc.styles
        self.bullet_id = styles["List Bullet"].style_id
        self.grid = styles["Table Grid"]
        normal = styles["Normal"]
        normal.font.name = "Arial"
        normal.font.size = Pt(11)
        props = self.doc.core_properties
        props.title = clean(f"Voice of children and families: {plan.round.title}")
        props.author = "YJ Voice"
        props.comments = f"Round {plan.round.code}"

    # -- small pieces -----------------------------------------------------------------
    @staticmethod
    def styled(paragraph: Any, style_id: str) -> None:
        # Setting ``paragraph.style`` makes python-docx scan every style for the default one
        # each time (most of the export's time with thousands of quotes); set the id directly.
        paragraph._p.get_or_add_pPr().style = style_id

    def italic(self, container: Any, text: str) -> None:
        container.add_paragraph().add_run(clean(text)).italic = True

    def quotes(self, container: Any, box: VoiceBox) -> None:
        for q in box.questions:
            self.italic(container, q.wording)
            for quote in q.quotes:
                line = quoted(quote.text)
                if count := said_by(quote, box.audience, box.lang):
                    line += " " + count
                if quote.translation:
                    line += " " + words.word(
                        "translation", box.lang, text=quoted(quote.translation)
                    )
                self.styled(container.add_paragraph(line), self.bullet_id)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Any:
        t = self.doc.add_table(rows=1 + len(rows), cols=len(header))
        t.style = self.grid
        t.alignment = WD_TABLE_ALIGNMENT.LEFT
        for j, h in enumerate(header):
            cell = t.rows[0].cells[j]
            cell.text = ""
            cell.paragraphs[0].add_run(clean(h)).bold = True
        for i, row in enumerate(rows, start=1):
            cells = t.rows[i].cells
            for j, value in enumerate(row):
                cells[j].text = clean(value)
        self.doc.add_paragraph()
        return t

    # -- sections ---------------------------------------------------------------------
    def boxed(self, box: VoiceBox) -> None:
        """Print one group's voices in a bordered box that Word keeps on one page."""
        t = self.doc.add_table(rows=1, cols=1)
        _keep_row_whole(t.rows[0])
        cell = t.cell(0, 0)
        _box_cell(cell)
        first = cell.paragraphs[0]
        run = first.add_run(box.heading)
        run.bold = True
        run.font.color.rgb = RGBColor.from_string(BOX_BORDER)
        self.quotes(cell, box)
        cell.add_paragraph().add_run(box.footer).bold = True
        for paragraph in cell.paragraphs[:-1]:  # and the box's lines together
            paragraph.paragraph_format.keep_with_next = True
        self.doc.add_paragraph()

    def ratings(self, section: Section) -> None:
        if not section.ratings:
            return
        self.doc.add_heading(words.word("ratings", self.plan.lang), level=3)
        for r in section.ratings:
            self.italic(self.doc, r.wording)
            t = r.table
            rows = [
                [t.rows[i]] + [t.percent_text(i, j) for j in range(len(t.columns))]
                for i in range(len(t.rows))
            ]
            self.table([words.word("who", self.plan.lang), *t.columns], rows)

    def sentiment(self, section: Section) -> None:
        t = section.sentiment
        if not t.rows:
            return
        self.doc.add_heading(words.word("feelings", self.plan.lang), level=3)
        png = sentiment_chart(t) if self.charts else None
        if png:
            self.doc.add_picture(io.BytesIO(png), width=Cm(12))
        parts = []
        for i, who in enumerate(t.rows):
            if t.row_hidden(i):
                parts.append(
                    f"{who}: {words.word('hidden_row', self.plan.lang, n=str(t.min_group))}"
                )
            else:
                pcts = ", ".join(
                    f"{t.percent_text(i, j)} {name.lower()}" for j, name in enumerate(t.columns)
                )
                parts.append(f"{who}: {pcts}")
        note = self.doc.add_paragraph(
            words.word("sentiment_note", self.plan.lang) + " " + "; ".join(parts) + "."
        )
        note.runs[0].font.size = Pt(9)

    def actions(self, section: Section) -> None:
        if not section.actions:
            return
        self.doc.add_heading(words.word("actions", self.plan.lang), level=3)
        self.table(
            words.ACTION_COLUMNS[self.plan.lang],
            [[a.id, a.achieve, a.do, a.evidence] for a in section.actions],
        )

    def section(self, section: Section) -> None:
        self.doc.add_heading(section_heading(section), level=1)
        for box in section.voice_boxes:
            self.boxed(box)
        if section.narrative:
            self.doc.add_paragraph(clean(section.narrative))
        self.ratings(section)
        self.sentiment(section)
        self.actions(section)

    def appendix(self) -> None:
        plan = self.plan
        self.doc.add_page_break()
        self.doc.add_heading(words.word("appendix", plan.lang), level=1)
        for line in method_lines(plan):
            self.doc.add_paragraph(line)
        header, rows = who_took_part(plan)
        if rows:
            self.doc.add_heading(words.word("who_took_part", plan.lang), level=3)
            self.table(header, rows)
        self.doc.add_heading(words.word("hidden", plan.lang), level=3)
        hidden = plan.suppressed
        if not hidden:
            self.doc.add_paragraph(words.word("all_shown", plan.lang))
        for line in words.hidden_lines(list(hidden), plan.min_group, plan.lang):
            self.styled(self.doc.add_paragraph(clean(line)), self.bullet_id)

    def build(self) -> Any:
        plan = self.plan
        lang = plan.lang
        self.doc.add_heading(words.word("document", lang), level=0)
        self.doc.add_paragraph(
            clean(words.word("round", lang, title=plan.round.title, code=plan.round.code))
        )
        self.doc.add_paragraph(words.word("edited", lang))
        for section in plan.sections:
            self.section(section)
        self.appendix()
        return self.doc


def section_heading(section: Section) -> str:
    """Return a section's heading: its plan number and title ("About the service" unnumbered)."""
    if 0 < section.number < 99:
        return f"{section.number}. {section.title}"
    return section.title


def _keep_row_whole(row: Any) -> None:
    """Tell Word not to split a table row across pages (a box stays on one page)."""
    tr_pr = row._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")
    cant.set(qn("w:val"), "true")
    tr_pr.append(cant)


def _box_cell(cell: Any) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for edge in ("top", "left", "bottom", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "12")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), BOX_BORDER)
        borders.append(el)
    tc_pr.append(borders)
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), BOX_FILL)
    tc_pr.append(shading)


def write_docx(
    plan: Plan,
    out: str | Path | IO[bytes],
    *,
    allow_empty: bool = False,
    charts: bool = True,
) -> None:
    """Write the plan as a Word document.

    Raises NoApprovedQuotes when nothing is approved, unless ``allow_empty``, in which case
    the document has no voice boxes (the export page lists what is empty).
    """
    if not allow_empty:
        plan.require_quotes()
    _Writer(plan, charts).build().save(out)
