"""Markdown and CSV of the quotes: the same content, plain."""

import csv
import io

import pytest

from surveys.export.markdown import escape, render_markdown, write_markdown
from surveys.export.plan import NoApprovedQuotes
from surveys.export.quotes_csv import COLUMNS, write_quotes_csv
from tests.export.conftest import CHILD_QUOTES, NEVER, PARENT_QUOTE, PLANTED
from tests.export.helpers import plan_of


@pytest.fixture
def plan(rt, built_round):
    return plan_of(rt, built_round)


def test_markdown_has_the_plan_layout(plan):
    md = render_markdown(plan)
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == [
        "## 2. Policing",
        "## 4. Diversion",
        "## 5. Education",
        "## 9. Remands",
        "## 11. Working with families",
        "## About the service",
        "## Appendix: how we consulted",
    ]
    # Every group's voices are a block quote, with the same count line.
    assert "> *What do you think of the police round here?*" in md
    assert f"> - \u201c{CHILD_QUOTES['policing.opinion'][0]}\u201d" in md
    assert "> (A selection from responses from 12 children compiled for this plan)" in md
    assert f"> - \u201c{escape(PARENT_QUOTE)}\u201d" in md  # [school] is written \\[school\\]
    assert (
        "> (A selection from responses from fewer than 10 parents / carers compiled for this plan)"
        in md
    )
    assert "| Children | 33% | 50% | 17% | 0% |" in md
    assert "| 4:1 Police | Swifter outcomes for cases returned from court |" in md


def test_markdown_never_contains_flagged_unapproved_or_identifying_text(plan):
    md = render_markdown(plan)
    for needle in NEVER + PLANTED:
        assert needle not in md, needle


def test_markdown_prints_user_text_literally():
    assert escape("*bold* <script> a|b\nnext [name]") == (
        "\\*bold\\* &lt;script&gt; a\\|b next \\[name\\]"
    )


@pytest.mark.parametrize(
    "quote",
    [
        "[click me](javascript:alert(1))",
        "[click me]( javascript:alert(1) )",
        "![x](https://tracker.example/p.png)",
        "<javascript:alert(1)>",
        "[a][1] then [1]: javascript:alert(1)",
        "<a href='javascript:alert(1)'>hi</a>",
    ],
)
def test_markdown_never_turns_a_quote_into_a_link_or_html(quote):
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    md.validateLink = lambda url: True  # as a renderer that does not vet link targets
    rendered = md.render(f"- \u201c{escape(quote)}\u201d")
    assert "<a " not in rendered and "<img" not in rendered, rendered
    assert "javascript:alert(1)" in rendered or "tracker" in rendered, "the words stay"


def test_quotes_csv_has_one_row_per_printed_quote(plan):
    buf = io.StringIO()
    assert write_quotes_csv(plan, buf) == 11
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    assert [r["priority"] for r in rows] == (
        ["policing"] * 7 + ["education"] * 2 + ["working_with_families", "general"]
    )
    assert rows[0]["n_respondents"] == "12" and rows[6]["n_respondents"] == "fewer than 10"
    formula = next(r for r in rows if "HYPERLINK" in r["quote"])
    assert formula["quote"].startswith("'=")
    text = buf.getvalue()
    for needle in NEVER + PLANTED:
        assert needle not in text, needle


def test_no_approved_quotes_is_an_error(rt, open_round):
    plan = plan_of(rt, open_round)
    with pytest.raises(NoApprovedQuotes):
        write_quotes_csv(plan, io.StringIO())
    with pytest.raises(NoApprovedQuotes):
        write_markdown(plan, io.StringIO())
    out = io.StringIO()
    write_markdown(plan, out, allow_empty=True)
    assert "yet" not in out.getvalue()  # no placeholder is ever printed
