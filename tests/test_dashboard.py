"""The dashboard's numbers, small-number suppression and charts (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from surveys.core.catalogue import default_catalogue
from surveys.services import dashboard
from surveys.storage import store
from tests.test_review import FLAGGED_TEXT, WRITTEN, build_review_round


def _dash(rt, code, min_group=10):
    with rt.transaction() as s:
        facts = dashboard.load_facts(s, store.get_round(s, code))
    return facts, dashboard.build(facts, rt.catalogue, min_group=min_group)


def test_totals_count_everything_and_hide_no_flagged_words(rt):
    seed = build_review_round(rt, extra_written=12)
    facts, dash = _dash(rt, seed.code)
    t = dash.totals
    written = len(WRITTEN) + 12
    # 8 written + 8 ratings + 12 extra + flagged + cased; the superseded one does not count.
    assert (t.answers, t.written, t.pending, t.hidden) == (written + 8 + 2, written, written, 2)
    assert (t.respondents, t.finished) == (len(WRITTEN) + 12 + 1, 0)
    assert "FLAGMARK" not in repr(facts) and FLAGGED_TEXT not in repr(dash)


def test_small_groups_are_suppressed_in_every_breakdown(rt):
    seed = build_review_round(rt, extra_written=12)
    _, dash = _dash(rt, seed.code)
    who = dash.who
    rows = dict(zip(who.rows, range(len(who.rows)), strict=True))
    # 1 child on Telegram and 1 parent: hidden; and what would give them away from the totals.
    web, telegram = who.columns.index("Web form"), who.columns.index("Telegram")
    assert who.cell_text(rows["Children"], telegram) == "fewer than 10"
    assert who.cell_text(rows["Parents / carers"], web) == "fewer than 10"
    assert who.cell_text(rows["Children"], web) == "not shown"  # from the web total
    assert who.column_total_text(web) == "20"  # 19 children and 1 parent
    people = dash.people
    i = people.rows.index("Remands")
    assert people.cell_text(i, people.columns.index("Children")) == "fewer than 10"
    sentiment = dash.sentiment
    assert sentiment.rows == ("Policing", "Education", "Remands", "About the service")
    assert sentiment.row_hidden(2)  # one young person wrote on remands
    assert sentiment.cell_text(3, 1) == "12"  # twelve wrote about the service
    described = [s.describe() for s in dash.suppressed]
    assert any("fewer than 10 respondents" in d for d in described)


def test_numbers_show_when_groups_are_big_enough(rt):
    seed = build_review_round(rt, extra_written=12)
    _, dash = _dash(rt, seed.code, min_group=1)
    assert dash.suppressed == ()
    general = next(r for r in dash.priorities if r.key == "general")
    assert (general.written, general.answers) == (12, 12 + 8)  # 12 written + 8 ratings
    i = dash.sentiment.rows.index("Policing")
    # policing: named +, school +, parent + ; listen =, street - (flagged/cased not counted)
    assert dash.sentiment.cells[i] == (3, 1, 1)
    assert dash.sentiment.percent_text(i, 0) == "60%"


def test_answers_over_time_fill_quiet_days():
    days = dashboard.fill_days([(date(2026, 11, 1), 3), (date(2026, 11, 4), 2)])
    assert days == [
        (date(2026, 11, 1), 3),
        (date(2026, 11, 2), 0),
        (date(2026, 11, 3), 0),
        (date(2026, 11, 4), 2),
    ]
    assert dashboard.fill_days([]) == []


def test_per_day_counts_come_back_as_dates_on_every_database(rt):
    seed = build_review_round(rt)
    facts, _ = _dash(rt, seed.code)
    assert len(facts.per_day) == 1
    day, n = facts.per_day[0]
    assert isinstance(day, date) and n == len(WRITTEN) * 2 + 2


def _facts(**kw):
    base = dict(
        code="ABC",
        title="t",
        priorities=("policing",),
        answers=(),
        people=(),
        respondents=(),
        per_day=(),
    )
    base.update(kw)
    return dashboard.Facts(**base)


@pytest.mark.parametrize("name", sorted(dashboard.CHARTS))
def test_charts_are_deterministic_svg_even_when_empty(name):
    cat = default_catalogue()
    for facts in (
        _facts(),
        _facts(
            answers=(
                (("policing", "positive", True, False, "approved", True), 30),
                (("policing", "negative", True, False, "pending", False), 4),
            ),
            people=((("policing", "child"), 31),),
            respondents=((("child", "web", True), 25), (("child", "telegram", False), 6)),
            per_day=((date(2026, 11, 1), 20), (date(2026, 11, 5), 14)),
        ),
    ):
        dash = dashboard.build(facts, cat)
        spec = dashboard.chart_spec(dash, name)
        first = dashboard.render_chart(spec)
        dashboard._render.cache_clear()
        assert dashboard.render_chart(spec) == first
        assert first.startswith(b"<?xml") and b"<svg" in first
        assert b"<script" not in first


def test_a_chart_draws_only_what_its_table_shows():
    facts = _facts(respondents=((("child", "web", True), 25), (("child", "telegram", False), 7)))
    dash = dashboard.build(facts, default_catalogue())
    spec = dashboard.chart_spec(dash, "people")
    assert spec[3] == dash.who.cells == ((None, None),)  # 7 hidden, so 25 is too (32 shown)
    svg = dashboard.render_chart(spec).decode()
    assert "fewer than 10" in svg
    assert not re.search(r">\s*(7|25)\s*<", svg)


def test_unknown_chart_name_is_refused():
    with pytest.raises(KeyError):
        dashboard.chart_spec(dashboard.build(_facts(), default_catalogue()), "nope")
