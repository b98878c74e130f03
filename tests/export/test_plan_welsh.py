"""The plan in Welsh (``--lang cy``) and Welsh quotes in the English plan."""

from __future__ import annotations

from docx import Document

from surveys.core.catalogue import default_catalogue
from surveys.export.docx import write_docx
from surveys.export.markdown import render_markdown
from surveys.export.plan import ActionRow, AnswerRow, plan_from_rows
from tests.export.helpers import docx_text
from tests.export.test_plan_pure import INFO


def row(n, text, *, language="en", translation="", qid="policing.opinion", choice=None):
    return AnswerRow(
        n, f"r{n}", "policing", qid, "child", "web", choice, text, "positive",
        bool(text), False, (), language, translation,
    )  # fmt: skip


ROWS = [
    *(row(i, f"ateb {i}", language="cy") for i in range(6)),
    row(6, "Roedden nhw'n deg.", language="cy", translation="They were fair."),
    *(row(10 + i, f"answer {i}") for i in range(6)),
    *(row(20 + i, "", qid="general.rating", choice="very_good") for i in range(12)),
]
ACTIONS = [ActionRow("policing", "Heddlu", "Canlyniadau cyflymach", "Llys bob wythnos", "Amser")]


def test_a_welsh_plan_prints_welsh_headings_wording_and_labels():
    plan = plan_from_rows(INFO, ROWS, ACTIONS, default_catalogue(), lang="cy")
    md = render_markdown(plan)
    assert md.startswith("# Llais plant a theuluoedd")
    assert "## 2. Plismona" in md
    assert "**Lleisiau plant**" in md
    assert "*Beth wyt ti'n feddwl o'r heddlu yn yr ardal yma?*" in md
    assert "(Detholiad o ymatebion gan 25 o blant a gasglwyd ar gyfer y cynllun hwn)" in md
    assert "| Pwy | Da iawn | Da | Iawn | Gwael |" in md
    assert "| Cyf. | Cyflawni | Gwneud | Tystiolaeth / Mesur |" in md
    assert "## Atodiad: sut gwnaethon ni ymgynghori" in md
    # Quotes are printed as given; the English translation is for the English plan only.
    assert "ateb 1" in md and "answer 1" in md and "They were fair" not in md
    assert "Children's voices" not in md


def test_the_english_plan_keeps_welsh_quotes_with_the_lead_s_translation(tmp_path):
    plan = plan_from_rows(INFO, ROWS, ACTIONS, default_catalogue())
    md = render_markdown(plan)
    assert "“Roedden nhw'n deg.” English translation: “They were fair.”" in md.replace("\\", "")
    assert "(A selection from responses from 25 children compiled for this plan)" in md
    path = tmp_path / "plan.docx"
    write_docx(plan, path)
    text = docx_text(Document(path))
    assert "English translation: “They were fair.”" in text
    welsh = tmp_path / "cynllun.docx"
    write_docx(plan_from_rows(INFO, ROWS, ACTIONS, default_catalogue(), lang="cy"), welsh)
    assert "Lleisiau plant" in docx_text(Document(welsh))


def test_a_welsh_answer_reviewed_and_translated_is_exported_both_ways(rt, jobs_immediate):
    import io

    from surveys.core import engine
    from surveys.services import conversation, exporting, review
    from surveys.storage import store
    from surveys.storage.models import Answer

    with rt.transaction() as s:
        rnd = store.open_round(
            s,
            rt.catalogue,
            title="Arolwg",
            priorities=["policing"],
            audiences=["child"],
            languages=["cy", "en"],
        )
        code = rnd.code
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", lang="cy")
        rid = resp.id
    with rt.transaction() as s:
        conversation.apply(s, rt.context, rid, engine.Inbound(choice="yes"), key="k1")
        conversation.apply(s, rt.context, rid, engine.Inbound(text="Roedden nhw'n deg."), key="k2")
    with rt.transaction() as s:
        answer = s.query(Answer).one()
        assert answer.language == "cy"
        review.decide([answer], "approve", None)
        review.use_as_quote(answer, None, translation="  They were fair.  ")
        assert answer.quote_translation == "They were fair."
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        out = {}
        for lang in ("en", "cy"):
            buf = io.StringIO()
            exporting.export_plan(s, rnd, rt.catalogue, "md", buf, actor=None, lang=lang)
            out[lang] = buf.getvalue().replace("\\", "")
    assert "“Roedden nhw'n deg.” English translation: “They were fair.”" in out["en"]
    assert "“Roedden nhw'n deg.”" in out["cy"] and "They were fair" not in out["cy"]
    assert "Lleisiau plant" in out["cy"]


def test_the_welsh_plan_has_its_method_narrative_and_hidden_numbers_in_welsh():
    small = [*ROWS, row(40, "Iawn.", language="cy")]
    small = [
        r._replace(audience="parent", respondent_id=f"p{r.id}") if r.id >= 40 else r for r in small
    ]
    plan = plan_from_rows(INFO, small, ACTIONS, default_catalogue(), lang="cy")
    md = render_markdown(plan)
    # The method appendix, in Welsh, with the same facts as the English one.
    assert "Rownd ABC234: Plan." in md
    assert "Gofynnon ni i blant" in md and "ar ffurflen ar y we" in md
    assert "N yw nifer y bobl wahanol o bob grŵp" in md
    assert "We asked" not in md and "answers were given" not in md
    # A small group is "llai na 10", never the English words.
    assert "llai na 10" in md and "fewer than" not in md
    # The narrative draft is Welsh too.
    section = plan.sections[0]
    assert section.draft.startswith("Atebodd 25 o bobl ifanc")
    assert "ar y pwnc hwn: Plismona." in section.draft


def test_the_welsh_workbook_and_quotes_csv_have_welsh_sheets_and_headings():

    from surveys.export.quotes_csv import quote_rows
    from surveys.export.xlsx import build_workbook

    plan = plan_from_rows(INFO, ROWS, ACTIONS, default_catalogue(), lang="cy")
    wb = build_workbook(plan)
    assert wb.sheetnames[0] == "Crynodeb"
    cells = {str(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r if c.value}
    for welsh in ("Llais plant a theuluoedd", "Blaenoriaeth", "Plant (N)", "Dyfyniadau",
                  "Pobl a ddywedodd hyn", "Cyflawni", "Rhifau heb eu dangos", "Dull"):  # fmt: skip
        assert welsh in cells, welsh
    for english in ("Summary", "Priority", "Quotes", "People who said this", "Method"):
        assert english not in cells, english
    assert {r["audience"] for r in quote_rows(plan)} == {"Plant"}
    english_plan = plan_from_rows(INFO, ROWS, ACTIONS, default_catalogue())
    assert build_workbook(english_plan).sheetnames[0] == "Summary"
