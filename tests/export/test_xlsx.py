"""The Excel export: a summary sheet, a sheet per priority, every cell plain data."""

import pytest
from openpyxl import load_workbook

from surveys.export.plan import NoApprovedQuotes
from surveys.export.xlsx import sheet_name, write_xlsx
from tests.export.conftest import CHILD_QUOTES, NEVER, PARENT_QUOTE, PLANTED
from tests.export.helpers import plan_of, xlsx_cells


@pytest.fixture
def book(rt, built_round, tmp_path):
    path = tmp_path / "plan.xlsx"
    write_xlsx(plan_of(rt, built_round), path)
    return path


def test_a_summary_sheet_then_one_sheet_per_priority(book):
    wb = load_workbook(book)
    assert wb.sheetnames == [
        "Summary",
        "2. Policing",
        "4. Diversion",
        "5. Education",
        "9. Remands",
        "11. Working with families",
        "About the service",
    ]
    summary = [[c.value for c in r] for r in wb["Summary"].iter_rows()]
    row = next(r for r in summary if r[0] == "2. Policing")
    assert row[:6] == ["2. Policing", "12", "fewer than 10", 7, 1, 2]


def test_a_priority_sheet_has_quotes_ratings_and_actions(book):
    ws = load_workbook(book)["2. Policing"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    quotes = [r for r in rows if r[0] in ("Children", "Parents / carers") and r[2]]
    assert [
        "Children",
        CHILD_QUOTES["policing.talk"][0],
        "How could the police talk to you better?",
    ] == quotes[4][:3]
    assert any(r[1] == PARENT_QUOTE and r[0] == "Parents / carers" for r in rows)
    assert ["Children", "33%", "50%", "17%", "0%"] in [r[:5] for r in rows]
    assert ["ID", "Achieve", "Do", "Evidence / Measure"] in [r[:4] for r in rows]
    assert [r[0] for r in rows if r[0] and str(r[0]).startswith("2:")] == [
        "2:1 Police",
        "2:2 Health",
    ]


def test_text_that_looks_like_a_formula_stays_text(book):
    _, cells = xlsx_cells(book)
    assert not [c for _, c in cells if c.data_type == "f"]
    formula_like = [c for _, c in cells if str(c.value).startswith("=HYPERLINK")]
    assert formula_like and all(c.data_type == "s" for c in formula_like)
    raw = load_workbook(book, data_only=False)["2. Policing"]
    assert any(str(c.value).startswith("=HYPERLINK") for r in raw.iter_rows() for c in r)


def test_never_contains_flagged_unapproved_or_identifying_text(book):
    _, cells = xlsx_cells(book)
    text = "\n".join(str(c.value) for _, c in cells)
    for needle in NEVER + PLANTED:
        assert needle not in text, needle


def test_small_numbers_are_hidden(book):
    _, cells = xlsx_cells(book)
    assert sum(1 for _, c in cells if c.value == "fewer than 10") > 5


@pytest.mark.parametrize(
    "title, taken, expected",
    [
        (
            "7. Serious violence, exploitation and contextual safeguarding",
            [],
            "7. Serious violence, exploitati",
        ),
        ("a/b:c*d?e[f]", [], "a b c d e f"),
        ("Summary", ["Summary"], "Summary (2)"),
        ("x" * 40, ["x" * 31], "x" * 27 + " (2)"),
        ("", [], "Sheet"),
    ],
)
def test_sheet_names_are_valid_and_unique(title, taken, expected):
    name = sheet_name(title, taken)
    assert name == expected and len(name) <= 31


def test_no_approved_quotes_is_an_error(rt, open_round, tmp_path):
    with pytest.raises(NoApprovedQuotes):
        write_xlsx(plan_of(rt, open_round), tmp_path / "x.xlsx")
