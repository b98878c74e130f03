"""Rounds and invitation kits in the workbench: who may do what, and what each page promises."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from surveys.services import conversation
from surveys.storage import store
from surveys.storage.models import Answer, Round, utcnow
from tests.conftest import make_settings
from tests.web.conftest import ROLES, hidden_fields, sign_in
from web import create_app

READERS = ("lead", "reviewer", "viewer")


def token(client) -> str:
    """Return a CSRF token from a page every signed-in role can open."""
    return hidden_fields(client.get("/admin/account/password").get_data(as_text=True))["csrf_token"]


def round_row(rt, code) -> Round:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        s.expunge(rnd)
        return rnd


def all_rounds(rt) -> list[Round]:
    with rt.transaction() as s:
        rounds = store.list_rounds(s)
        for r in rounds:
            s.expunge(r)
        return rounds


def new_round(client, **fields):
    data = {
        "csrf_token": token(client),
        "title": "Plan 2027/28",
        "status": "draft",
        "priorities": ["policing", "education"],
        "audiences": ["child", "parent"],
    }
    data.update(fields)
    return client.post("/admin/rounds/new", data=data)


def set_status(client, code, action, **extra):
    data = {"csrf_token": token(client), "action": action, **extra}
    return client.post(f"/admin/rounds/{code}/status", data=data)


# --- who may open what ------------------------------------------------------------------

READ_PAGES = [
    "/admin/rounds/{code}",
    "/admin/rounds/{code}/invite/child",
    "/admin/rounds/{code}/invite/parent/qr.png",
    "/admin/rounds/{code}/invite/parent/qr.svg",
    "/admin/rounds/{code}/invite/staff/poster",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_round_pages_open_for_readers_and_not_for_the_safeguarding_lead(as_role, open_round, role):
    client = as_role(role)
    for path in READ_PAGES:
        res = client.get(path.format(code=open_round))
        assert res.status_code == (200 if role in READERS else 403), (role, path)
    res = client.get("/admin/rounds/new")
    assert res.status_code == (200 if role == "lead" else 403)


@pytest.mark.parametrize("role", ["reviewer", "safeguarding", "viewer"])
def test_only_the_lead_may_create_or_change_rounds_even_with_a_token(as_role, rt, open_round, role):
    client = as_role(role)
    assert new_round(client, status="open").status_code == 403
    assert set_status(client, open_round, "close").status_code == 403
    assert client.get(f"/admin/rounds/{open_round}/status").status_code == 403
    assert [r.code for r in all_rounds(rt)] == [open_round]
    assert round_row(rt, open_round).status == "open"


def test_round_pages_need_sign_in(client, open_round):
    for path in [*READ_PAGES, "/admin/rounds/new", "/admin/rounds/{code}/status"]:
        res = client.get(path.format(code=open_round))
        assert res.status_code == 302 and "/admin/login" in res.headers["Location"], path


@pytest.mark.parametrize(
    "path",
    [
        "/admin/rounds/NOSUCH",
        "/admin/rounds/NOSUCH/invite/child",
        "/admin/rounds/{code}/invite/aliens",
        "/admin/rounds/{code}/invite/aliens/qr.png",
    ],
)
def test_unknown_rounds_and_audiences_are_404(as_role, open_round, path):
    assert as_role("viewer").get(path.format(code=open_round)).status_code == 404


def test_an_audience_the_round_does_not_ask_is_404(as_role, rt):
    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Kids only", priorities=["policing"], audiences=["child"]
        ).code
    client = as_role("lead")
    assert client.get(f"/admin/rounds/{code}/invite/child").status_code == 200
    assert client.get(f"/admin/rounds/{code}/invite/parent").status_code == 404
    assert client.get(f"/admin/rounds/{code}/invite/parent/poster").status_code == 404


@pytest.mark.parametrize(
    "path, data",
    [
        (
            "/admin/rounds/new",
            {"title": "No token", "priorities": "policing", "audiences": "child"},
        ),
        ("/admin/rounds/{code}/status", {"action": "close"}),
    ],
)
def test_round_changes_without_a_csrf_token_are_refused(as_role, rt, open_round, path, data):
    res = as_role("lead").post(path.format(code=open_round), data=data)
    assert res.status_code == 400
    assert [(r.code, r.status) for r in all_rounds(rt)] == [(open_round, "open")]


# --- the rounds list ----------------------------------------------------------------------


def test_rounds_list_links_each_round_and_offers_new_round_to_the_lead(as_role, open_round):
    lead = as_role("lead").get("/admin/").get_data(as_text=True)
    assert f'href="/admin/rounds/{open_round}"' in lead and 'href="/admin/rounds/new"' in lead
    viewer = as_role("viewer").get("/admin/").get_data(as_text=True)
    assert f'href="/admin/rounds/{open_round}"' in viewer
    assert 'href="/admin/rounds/new"' not in viewer


# --- creating a round ---------------------------------------------------------------------


def test_new_round_form_lists_every_priority_in_plan_order(as_role, rt):
    page = as_role("lead").get("/admin/rounds/new").get_data(as_text=True)
    keys = rt.catalogue.priority_keys
    positions = [page.index(f'value="{k}"') for k in keys]
    assert positions == sorted(positions) and len(keys) == 11
    assert 'value="general"' not in page


def test_lead_creates_a_draft_with_priorities_in_plan_order(as_role, rt):
    client = as_role("lead")
    closes = (date.today() + timedelta(days=30)).isoformat()
    res = new_round(
        client,
        priorities=["remands", "policing", "education"],
        audiences=["parent", "child"],
        closes_on=closes,
    )
    assert res.status_code == 302
    (rnd,) = all_rounds(rt)
    assert res.headers["Location"].endswith(f"/admin/rounds/{rnd.code}")
    assert rnd.status == "draft" and rnd.title == "Plan 2027/28"
    assert rnd.priorities == ["policing", "education", "remands"]
    assert rnd.audiences == ["child", "parent"] and rnd.closes_on.isoformat() == closes
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "created as a draft" in page and "Open round" in page


def test_lead_creates_a_round_that_is_open_at_once(as_role, rt):
    assert new_round(as_role("lead"), status="open").status_code == 302
    (rnd,) = all_rounds(rt)
    assert rnd.status == "open" and rnd.opened_at is not None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"title": ""}, "Please give the round a title"),
        ({"priorities": []}, "Please choose at least one priority"),
        ({"audiences": []}, "Please choose at least one audience"),
        ({"priorities": ["policing", "astrology"]}, "Unknown priorities: astrology"),
        ({"audiences": ["child", "aliens"]}, "Unknown audiences: aliens"),
        ({"closes_on": "2001-01-01"}, "The closing date is in the past"),
        ({"closes_on": "next tuesday"}, "closing date as a date"),
        ({"status": "closed"}, "either draft or open"),
    ],
)
def test_new_round_mistakes_are_explained_and_nothing_is_created(as_role, rt, fields, message):
    client = as_role("lead")
    fields = dict(fields)  # shared by both database runs: do not pop from the original
    res = new_round(client, title=fields.pop("title", "Kept title"), **fields)
    body = res.get_data(as_text=True)
    assert res.status_code == 400 and message in body
    assert all_rounds(rt) == []
    if "title" not in message:
        assert 'value="Kept title"' in body  # what was typed is kept


# --- status -------------------------------------------------------------------------------


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_lead_opens_closes_and_reopens_a_round(as_role, rt):
    client = as_role("lead")
    new_round(client)
    code = all_rounds(rt)[0].code
    assert set_status(client, code, "open").status_code == 303
    assert round_row(rt, code).status == "open"
    set_status(client, code, "close", confirmed="yes")
    rnd = round_row(rt, code)
    assert rnd.status == "closed" and rnd.closed_at is not None
    page = client.get(f"/admin/rounds/{code}").get_data(as_text=True)
    assert "Reopen round" in page and "closed: it takes no more answers" in page
    set_status(client, code, "reopen")
    assert round_row(rt, code).status == "open"


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_closing_asks_first_and_says_how_many_are_part_way_through(as_role, rt, open_round):
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        for _ in range(3):
            conversation.start(s, rnd, rt.context, channel="web", audience="child")
    client = as_role("lead")
    page = set_status(client, open_round, "close")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "3 people are part-way through this survey" in body
    assert 'name="confirmed" value="yes"' in body
    assert round_row(rt, open_round).status == "open"  # nothing closed yet
    assert set_status(client, open_round, "close", confirmed="yes").status_code == 303
    assert round_row(rt, open_round).status == "closed"


def test_a_repeated_or_wrong_status_change_changes_nothing(as_role, rt, open_round):
    client = as_role("lead")
    before = round_row(rt, open_round).opened_at
    res = set_status(client, open_round, "open")  # already open (a double click)
    assert res.status_code == 303
    assert "already open" in client.get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert round_row(rt, open_round).opened_at == before
    set_status(client, open_round, "explode")
    assert round_row(rt, open_round).status == "open"


def test_reopening_a_round_past_its_closing_date_removes_the_date(as_role, rt, open_round):
    with rt.transaction() as s:
        store.get_round(s, open_round).closes_on = date.today() - timedelta(days=1)
    client = as_role("lead")
    page = client.get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert "its closing date has passed" in page and "Reopen round" in page
    set_status(client, open_round, "reopen")
    rnd = round_row(rt, open_round)
    assert rnd.status == "open" and rnd.closes_on is None


def test_get_on_the_status_url_just_shows_the_round(as_role, open_round):
    res = as_role("lead").get(f"/admin/rounds/{open_round}/status")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/rounds/{open_round}")


# --- the round page -----------------------------------------------------------------------


def test_round_page_counts_people_by_group_and_channel_with_small_groups_hidden(
    as_role, rt, open_round
):
    viewer = as_role("viewer")
    page = viewer.get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert "Nobody has started yet" in page
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        people = [
            conversation.start(s, rnd, rt.context, channel=channel, audience=audience)[0]
            for channel, audience in [
                ("web", "child"),
                ("web", "child"),
                ("telegram", "parent"),
                ("web", None),
            ]
        ]
        people[0].completed_at = utcnow()
        for n, superseded in enumerate([False, False, True]):  # a changed answer counts once
            s.add(
                Answer(
                    round_id=rnd.id,
                    respondent_id=people[0].id,
                    priority="policing",
                    question_id="policing.opinion",
                    audience="child",
                    channel="web",
                    text="fine",
                    inbound_key=f"test:{n}",
                    superseded=superseded,
                )
            )
    page = viewer.get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert "Responses so far" in page
    # The same suppressed table as the dashboard: four people are all small groups.
    assert "Telegram" in page and "Not chosen yet" in page
    assert "fewer than 10" in page and ">2<" not in page and ">4<" not in page


def test_round_page_shows_links_and_kits_but_no_status_buttons_to_readers(as_role, open_round):
    page = as_role("reviewer").get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert f"http://testserver/r/{open_round}/child" in page
    for audience in ("child", "parent", "staff", "partner"):
        assert f"/admin/rounds/{open_round}/invite/{audience}" in page
    assert "Close round" not in page and "taking answers now" in page
    assert "Policing" in page and "Remands" in page
    lead = as_role("lead").get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert "Close round" in lead


def test_round_page_links_to_the_other_workbench_areas_in_the_nav(
    app, as_role, open_round, monkeypatch
):
    from web.admin import nav

    # Stand-ins for areas other engineers add (any argument-less endpoint will do).
    areas = [("public.index", "Some area", READERS), ("healthz", "Lead-only area", ("lead",))]
    monkeypatch.setattr(nav, "NAV", [*nav.NAV, *areas])
    monkeypatch.setattr("web.admin.rounds.NAV", nav.NAV)
    page = as_role("viewer").get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert 'aria-label="This round"' in page and 'href="/">Some area</a>' in page
    assert "Lead-only area" not in page


def test_round_page_links_straight_to_an_areas_page_for_this_round(
    app, as_role, open_round, monkeypatch
):
    # An area whose NAV page has no round, and whose module also serves
    # /admin/rounds/<code>/NAME: the round page links to NAME for this round. Stand-in:
    # "New round" (/admin/rounds/new) and its module's /admin/rounds/<code>/status.
    from web.admin import nav

    monkeypatch.setattr(nav, "NAV", [*nav.NAV, ("admin.round_new", "Stand-in", ("lead",))])
    monkeypatch.setattr("web.admin.rounds.NAV", nav.NAV)
    page = as_role("lead").get(f"/admin/rounds/{open_round}").get_data(as_text=True)
    assert f'href="/admin/rounds/{open_round}/status">Stand-in</a>' in page


# --- invitation kits ----------------------------------------------------------------------


@pytest.fixture
def bot_app(rt, db_url, tmp_path, staff):
    """Return an app whose settings know the Telegram bot's username."""
    app = create_app(
        {
            "YJV_SETTINGS": make_settings(tmp_path, db_url, telegram_bot_username="yjvoice_bot"),
            "TESTING": True,
        }
    )
    yield app
    app.extensions["yjvoice"].close()


def lead_on(app, staff):
    client = app.test_client()
    assert sign_in(client, staff["lead"]).status_code == 302
    return client


def test_parent_kit_offers_web_telegram_qr_text_and_poster(bot_app, staff, open_round):
    page = lead_on(bot_app, staff).get(f"/admin/rounds/{open_round}/invite/parent")
    body = page.get_data(as_text=True)
    assert f"http://testserver/r/{open_round}/parent" in body
    assert f"https://t.me/yjvoice_bot?start={open_round}-parent" in body
    assert f"/start {open_round}" in body and "aged 16 and over" in body
    assert "<svg" in body and "<title>QR code for http://testserver/r/" in body
    assert f"/admin/rounds/{open_round}/invite/parent/qr.png" in body
    assert f"/admin/rounds/{open_round}/invite/parent/qr.svg" in body
    assert f"/admin/rounds/{open_round}/invite/parent/poster" in body
    assert "fits in one text" in body


def test_child_kit_has_no_telegram_link(bot_app, staff, open_round):
    body = (
        lead_on(bot_app, staff)
        .get(f"/admin/rounds/{open_round}/invite/child")
        .get_data(as_text=True)
    )
    assert "t.me/" not in body and "/start " not in body
    assert "Not offered to young people" in body


def test_kit_warns_when_the_round_does_not_take_answers(as_role, rt, open_round):
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    body = as_role("lead").get(f"/admin/rounds/{open_round}/invite/child").get_data(as_text=True)
    assert "will not take answers until it is open" in body


def test_qr_downloads_are_png_and_svg_that_scan_to_the_web_link(as_role, open_round):
    import zxingcpp
    from PIL import Image

    client = as_role("viewer")
    link = f"http://testserver/r/{open_round}/partner"
    png = client.get(f"/admin/rounds/{open_round}/invite/partner/qr.png")
    assert png.mimetype == "image/png"
    assert png.headers["Content-Disposition"] == (
        f'attachment; filename="yjvoice-{open_round}-partner-qr.png"'
    )
    assert png.data.startswith(b"\x89PNG")
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))] == [link]
    svg = client.get(f"/admin/rounds/{open_round}/invite/partner/qr.svg")
    assert svg.mimetype == "image/svg+xml" and "attachment" in svg.headers["Content-Disposition"]
    text = svg.get_data(as_text=True)
    assert text.startswith("<?xml") and 'width="60mm"' in text and link in text
    assert svg.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("audience", ["child", "parent", "staff"])
def test_poster_is_a_print_ready_page_with_link_qr_and_danger_line(
    bot_app, staff, open_round, audience
):
    res = lead_on(bot_app, staff).get(f"/admin/rounds/{open_round}/invite/{audience}/poster")
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    link = f"http://testserver/r/{open_round}/{audience}"
    assert f'<p class="link">{link}</p>' in body.replace("<wbr>", "")  # printed, breakable
    assert f"<title>QR code for {link}</title>" in body
    assert "In danger now? Call 999. Childline: 0800 1111" in body
    assert "<svg" in body and "poster.css" in body
    assert " style=" not in body and "<style" not in body and "<script" not in body
    assert "script-src 'self'" in res.headers["Content-Security-Policy"]
    if audience == "child":
        assert "Have your say" in body and "@yjvoice_bot" not in body
    else:
        assert f"Send <strong>/start {open_round}</strong> to <strong>@yjvoice_bot" in body


def test_poster_css_prints_on_a4():
    from pathlib import Path

    css = (Path(__file__).parents[2] / "web" / "static" / "poster.css").read_text()
    assert "@page" in css and "A4" in css and "@media print" in css
