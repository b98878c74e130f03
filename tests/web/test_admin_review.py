"""The review pages through Flask's test client: roles, per-object checks, CSRF, flagged
answers never shown, bulk actions, quote edits and redaction undo/redo."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from surveys.services import themes
from surveys.storage import store
from surveys.storage.models import Answer, Theme
from tests.test_review import CASE_TEXT, FLAGGED_TEXT, OTHER_ROUND_TEXT, build_review_round
from tests.web.conftest import ROLES, hidden_fields

SECRETS = ("FLAGMARK", "CASEMARK", "hits me", "hold stuff", "OTHERMARK", "SUPERSEDEDMARK")
REVIEW_MODULES = ("web.admin.review", "web.admin.themes", "web.admin.dashboard")
REVIEWERS = {"lead", "reviewer"}
READERS = {"lead", "reviewer", "viewer"}


@pytest.fixture
def built(rt):
    """The shared review round, with themes found for one question."""
    seed = build_review_round(rt)
    with rt.transaction() as s:
        rnd = store.get_round(s, seed.code)
        themes.recompute(s, rnd, "policing.opinion")
        seed.ids["theme"] = s.scalar(
            select(Theme.id).where(Theme.round_id == rnd.id).order_by(Theme.id)
        )
    return seed


def token(client, url="/admin/") -> str:
    return hidden_fields(client.get(url).get_data(as_text=True))["csrf_token"]


def routes(seed) -> list[tuple[str, str, str, set[str]]]:
    """Return (endpoint, method, url, roles allowed) for every route of these pages."""
    c, a, t = seed.code, seed.ids["named"], seed.ids["theme"]
    q = "policing.opinion"
    return [
        ("admin.review_home", "GET", "/admin/review", REVIEWERS),
        ("admin.review_queue", "GET", f"/admin/rounds/{c}/review", REVIEWERS),
        ("admin.review_bulk", "POST", f"/admin/rounds/{c}/review/bulk", REVIEWERS),
        ("admin.review_answer", "GET", f"/admin/rounds/{c}/review/{a}", REVIEWERS),
        ("admin.review_decide", "POST", f"/admin/rounds/{c}/review/{a}/decide", REVIEWERS),
        ("admin.review_quote", "POST", f"/admin/rounds/{c}/review/{a}/quote", REVIEWERS),
        ("admin.review_tags", "POST", f"/admin/rounds/{c}/review/{a}/tags", REVIEWERS),
        ("admin.review_redactions", "POST", f"/admin/rounds/{c}/review/{a}/redactions", REVIEWERS),
        ("admin.review_redact_too", "POST", f"/admin/rounds/{c}/review/{a}/redact-too", REVIEWERS),
        ("admin.themes_home", "GET", "/admin/themes", REVIEWERS),
        ("admin.themes_overview", "GET", f"/admin/rounds/{c}/themes", REVIEWERS),
        ("admin.themes_question", "GET", f"/admin/rounds/{c}/themes/{q}", REVIEWERS),
        ("admin.themes_recompute", "POST", f"/admin/rounds/{c}/themes/{q}/recompute", REVIEWERS),
        ("admin.themes_all", "POST", f"/admin/rounds/{c}/themes/all", REVIEWERS),
        ("admin.themes_merge", "POST", f"/admin/rounds/{c}/themes/{q}/merge", REVIEWERS),
        ("admin.themes_answers", "POST", f"/admin/rounds/{c}/themes/{q}/answers", REVIEWERS),
        ("admin.themes_theme", "GET", f"/admin/rounds/{c}/themes/{q}/{t}", REVIEWERS),
        ("admin.themes_rename", "POST", f"/admin/rounds/{c}/themes/{q}/{t}/rename", REVIEWERS),
        ("admin.themes_delete", "POST", f"/admin/rounds/{c}/themes/{q}/{t}/delete", REVIEWERS),
        ("admin.dashboard_home", "GET", "/admin/dashboard", READERS),
        ("admin.dashboard_page", "GET", f"/admin/rounds/{c}/dashboard", READERS),
        ("admin.dashboard_chart", "GET", f"/admin/rounds/{c}/dashboard/people.svg", READERS),
        ("admin.quotes", "GET", f"/admin/rounds/{c}/quotes", READERS),
    ]


def test_the_route_table_covers_every_route_of_these_pages(app, built):
    mine = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if app.view_functions[rule.endpoint].__module__ in REVIEW_MODULES
    }
    assert mine == {endpoint for endpoint, *_ in routes(built)}
    for endpoint, _, _, allowed in routes(built):
        assert set(app.view_functions[endpoint].allowed_roles) == allowed, endpoint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_every_route_for_every_role(as_role, built, role):
    client = as_role(role)
    # A refused role is turned away before its token is even read, so it needs none.
    csrf = token(client) if role in READERS else ""
    for endpoint, method, url, allowed in routes(built):
        res = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": csrf})
        if role not in allowed:
            assert res.status_code == 403, (role, endpoint, res.status_code)
        elif method == "GET":
            assert res.status_code in (200, 302), (role, endpoint, res.status_code)
            assert res.headers["Cache-Control"] == "no-store"
        else:  # an empty form is refused or ignored, never a server error
            assert res.status_code in (303, 400, 404, 422), (role, endpoint, res.status_code)


def test_anonymous_visitors_are_sent_to_sign_in(client, built):
    for _, method, url, _ in routes(built):
        res = client.open(url, method=method)
        assert res.status_code == 302 and "/admin/login" in res.headers["Location"], url


def _get_pages(seed) -> list[str]:
    c = seed.code
    pages = [
        f"/admin/rounds/{c}/review?status=all",
        f"/admin/rounds/{c}/review?q=hits",
        f"/admin/rounds/{c}/review?q=when+he+drinks&status=all",
        f"/admin/rounds/{c}/review?question=policing.opinion&status=all",
        f"/admin/rounds/{c}/themes",
        f"/admin/rounds/{c}/themes/policing.opinion",
        f"/admin/rounds/{c}/themes/policing.talk",
        f"/admin/rounds/{c}/themes/policing.opinion/{seed.ids['theme']}",
        f"/admin/rounds/{c}/dashboard",
        f"/admin/rounds/{c}/quotes",
    ]
    pages += [
        f"/admin/rounds/{c}/review/{i}"
        for n, i in seed.ids.items()
        if n not in ("flagged", "cased", "superseded", "other", "theme")
    ]
    pages += [
        f"/admin/rounds/{c}/dashboard/{n}.svg"
        for n in ("priorities", "people", "completion", "time", "sentiment")
    ]
    return pages


@pytest.mark.parametrize("role", ["lead", "reviewer", "viewer"])
def test_flagged_answers_never_appear_on_any_page(as_role, built, role):
    client = as_role(role)
    # Approve everything, flagged ones included behind the scenes, so every page has content.
    c = built.code
    for page in _get_pages(built):
        res = client.get(page)
        if res.status_code == 403:
            assert role == "viewer"
            continue
        assert res.status_code == 200, page
        body = res.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in body, (page, secret)
    if role != "viewer":
        queue = client.get(f"/admin/rounds/{c}/review").get_data(as_text=True)
        assert "2 answers are with the safeguarding lead." in queue
        one = client.get(f"/admin/rounds/{c}/review?question=policing.talk").get_data(as_text=True)
        assert "1 answer is with the safeguarding lead." in one


@pytest.mark.parametrize("name", ["flagged", "cased", "superseded", "other"])
def test_answer_ids_outside_the_queue_are_404_everywhere(as_role, built, name):
    client = as_role("reviewer")
    csrf = token(client)
    c, a = built.code, built.ids[name]
    assert client.get(f"/admin/rounds/{c}/review/{a}").status_code == 404
    for action, data in [
        ("decide", {"action": "approve"}),
        ("quote", {"quote": "x"}),
        ("tags", {"sentiment": "positive"}),
        ("redactions", {"op": "undo:0"}),
        ("redact-too", {"words": "man", "category": "name"}),
    ]:
        res = client.post(
            f"/admin/rounds/{c}/review/{a}/{action}", data={"csrf_token": csrf, **data}
        )
        assert res.status_code == 404, action
    res = client.post(
        f"/admin/rounds/{c}/review/bulk",
        data={"csrf_token": csrf, "action": "approve", "ids": [built.ids["named"], a]},
    )
    assert res.status_code == 404
    with_round = client.get(f"/admin/rounds/{built.other_code}/review/{built.ids['named']}")
    assert with_round.status_code == 404
    assert client.get("/admin/rounds/NOSUCH/review").status_code == 404


def test_nothing_changes_when_a_404_bulk_action_mixes_rounds(as_role, built, rt):
    client = as_role("reviewer")
    client.post(
        f"/admin/rounds/{built.code}/review/bulk",
        data={
            "csrf_token": token(client),
            "action": "approve",
            "ids": [built.ids["named"], built.ids["other"]],
        },
    )
    with rt.transaction() as s:
        assert s.get(Answer, built.ids["named"]).review_status == "pending"


def test_every_post_needs_the_csrf_token(as_role, built, rt):
    client = as_role("lead")
    for endpoint, method, url, _ in routes(built):
        if method != "POST":
            continue
        res = client.post(
            url,
            data={"action": "approve", "op": "accept", "label": "x", "ids": [built.ids["named"]]},
        )
        assert res.status_code == 400, endpoint
        res = client.post(url, data={"csrf_token": "forged", "action": "approve"})
        assert res.status_code == 400, endpoint
    with rt.transaction() as s:
        assert s.get(Answer, built.ids["named"]).review_status == "pending"
        assert s.get(Theme, built.ids["theme"]) is not None


def test_queue_shows_redacted_text_and_the_answer_page_shows_raw_with_marks(as_role, built):
    client = as_role("reviewer")
    c = built.code
    queue = client.get(f"/admin/rounds/{c}/review?status=all").get_data(as_text=True)
    assert "jayden" not in queue and "Oakfield Academy" not in queue
    assert '<mark class="redaction" title="Hidden: school">[school]</mark>' in queue
    page = client.get(f"/admin/rounds/{c}/review/{built.ids['school']}").get_data(as_text=True)
    assert re.search(r'<mark class="redaction">jayden<span class="visually-hidden">', page)
    assert "Oakfield Academy" in page and "[school]" in page


def test_filters_search_and_pagination_links(as_role, rt):
    seed = build_review_round(rt, extra_written=30)
    client = as_role("reviewer")
    c = seed.code
    first = client.get(f"/admin/rounds/{c}/review").get_data(as_text=True)
    assert "38 answers" in first
    nxt = re.search(r'href="([^"]*after=\d+[^"]*)" rel="next"', first).group(1)
    second = client.get(nxt.replace("&amp;", "&")).get_data(as_text=True)
    assert 'rel="prev"' in second
    ids_1 = set(re.findall(r'name="ids" value="(\d+)"', first))
    ids_2 = set(re.findall(r'name="ids" value="(\d+)"', second))
    assert len(ids_1) == 25 and len(ids_2) == 13 and not ids_1 & ids_2
    found = client.get(f"/admin/rounds/{c}/review?q=youth+clubs+number+7").get_data(as_text=True)
    assert "1 answer match" in found and "number 7" in found
    junk = client.get(f"/admin/rounds/{c}/review?priority=%27%20or%201=1&after=abc")
    assert junk.status_code == 200


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_bulk_actions_apply_to_the_selection_and_keep_the_filters(as_role, built, rt):
    client = as_role("reviewer")
    c = built.code
    ids = [built.ids["named"], built.ids["listen"]]
    back = f"/admin/rounds/{c}/review?priority=policing"
    res = client.post(
        f"/admin/rounds/{c}/review/bulk?priority=policing",
        data={"csrf_token": token(client), "action": "quote", "ids": ids, "back": back},
    )
    assert res.status_code == 303 and res.headers["Location"].endswith(back)
    with rt.transaction() as s:
        rows = {a.id: a for a in s.scalars(select(Answer).where(Answer.id.in_(ids)))}
    assert all(r.is_quote and r.review_status == "approved" for r in rows.values())
    page = client.get(back).get_data(as_text=True)
    assert "2 answers chosen as quotes." in page
    # One answer's own button, in the same form.
    res = client.post(
        f"/admin/rounds/{c}/review/bulk",
        data={"csrf_token": token(client), "one": f"reject:{built.ids['street']}", "ids": ids},
    )
    with rt.transaction() as s:
        assert s.get(Answer, built.ids["street"]).review_status == "rejected"
        assert s.get(Answer, built.ids["named"]).review_status == "approved"
    # An off-site "back" is ignored; an empty selection is explained.
    res = client.post(
        f"/admin/rounds/{c}/review/bulk",
        data={"csrf_token": token(client), "action": "approve", "back": "//evil.example.com/"},
    )
    assert res.status_code == 303 and "evil" not in res.headers["Location"]
    assert "Select at least one answer" in client.get(res.headers["Location"]).get_data(
        as_text=True
    )


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_approve_moves_on_to_the_next_answer(as_role, built, rt):
    client = as_role("lead")
    c, a = built.code, built.ids["named"]
    res = client.post(
        f"/admin/rounds/{c}/review/{a}/decide",
        data={"csrf_token": token(client), "action": "approve"},
    )
    assert res.status_code == 303
    assert res.headers["Location"].endswith(f"/review/{built.ids['school']}")
    with rt.transaction() as s:
        a_row = s.get(Answer, a)
        assert a_row.review_status == "approved" and a_row.reviewed_by is not None


def test_quote_edit_that_reintroduces_a_name_warns_then_saves_on_confirm(as_role, built, rt):
    client = as_role("reviewer")
    c, a = built.code, built.ids["named"]
    url = f"/admin/rounds/{c}/review/{a}/quote"
    res = client.post(
        url, data={"csrf_token": token(client), "quote": "PC Dave Smith was alright with me."}
    )
    body = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Nothing was saved yet." in body and "brings back “PC Dave Smith”" in body
    assert 'name="confirm"' in body
    with rt.transaction() as s:
        assert s.get(Answer, a).quote_text is None and not s.get(Answer, a).is_quote
    res = client.post(
        url,
        data={
            "csrf_token": token(client),
            "confirm": "yes",
            "quote": "PC Dave Smith was alright with me.",
        },
    )
    assert res.status_code == 303
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "still contains “PC Dave Smith”" in page
    # A clean light edit saves at once and keeps the redacted text.
    res = client.post(
        url,
        data={"csrf_token": token(client), "quote": "[name] was alright with me at the station."},
    )
    assert res.status_code == 303
    with rt.transaction() as s:
        row = s.get(Answer, a)
        assert row.quote_text == "[name] was alright with me at the station."
        assert row.redacted == "[name] was alright with me at the station"
        assert row.is_quote and row.review_status == "approved" and row.reviewed_by


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_redaction_undo_redo_accept_and_redact_too(as_role, built, rt):
    client = as_role("reviewer")
    c, a = built.code, built.ids["school"]
    base = f"/admin/rounds/{c}/review/{a}"

    def published():
        with rt.transaction() as s:
            return s.get(Answer, a).redacted

    client.post(f"{base}/redactions", data={"csrf_token": token(client), "op": "undo:1"})
    assert published() == "[name] from Oakfield Academy was sound with me, ring me on [phone]"
    page = client.get(base).get_data(as_text=True)
    assert "Undone: published as written" in page and "Hide again" in page
    client.post(f"{base}/redactions", data={"csrf_token": token(client), "op": "redo:1"})
    assert published() == "[name] from [school] was sound with me, ring me on [phone]"
    client.post(f"{base}/redactions", data={"csrf_token": token(client), "op": "accept"})
    assert "Hidden, checked" in client.get(base).get_data(as_text=True)
    res = client.post(
        f"{base}/redact-too",
        data={"csrf_token": token(client), "words": "sound", "category": "place"},
    )
    assert res.status_code == 303
    assert published() == "[name] from [school] was [place] with me, ring me on [phone]"
    res = client.post(
        f"{base}/redact-too",
        data={"csrf_token": token(client), "words": "not there", "category": "name"},
    )
    assert "not in the answer as given" in client.get(res.headers["Location"]).get_data(
        as_text=True
    )
    res = client.post(f"{base}/redactions", data={"csrf_token": token(client), "op": "undo:99"})
    assert "out of date" in client.get(res.headers["Location"]).get_data(as_text=True)
    assert (
        client.post(
            f"{base}/redactions", data={"csrf_token": token(client), "op": "explode"}
        ).status_code
        == 400
    )


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_tags_override_and_restore(as_role, built, rt):
    client = as_role("reviewer")
    c, a = built.code, built.ids["listen"]
    client.post(
        f"/admin/rounds/{c}/review/{a}/tags",
        data={
            "csrf_token": token(client),
            "sentiment": "negative",
            "priority": "prevention",
            "tag": ["being_listened_to", "respect"],
        },
    )
    with rt.transaction() as s:
        row = s.get(Answer, a)
        assert (row.sentiment_override, row.priority_override, row.themes) == (
            "negative",
            "prevention",
            ["being_listened_to", "respect"],
        )
    page = client.get(f"/admin/rounds/{c}/review?status=all&sentiment=negative")
    assert "(set by reviewer)" in page.get_data(as_text=True)
    res = client.post(
        f"/admin/rounds/{c}/review/{a}/tags",
        data={"csrf_token": token(client), "sentiment": "furious"},
    )
    assert "Choose positive" in client.get(res.headers["Location"]).get_data(as_text=True)


def test_viewer_reads_only_approved_redacted_quotes(as_role, built, rt):
    with rt.transaction() as s:
        s.get(Answer, built.ids["school"]).review_status = "approved"
        s.get(Answer, built.ids["school"]).is_quote = True
        s.get(Answer, built.ids["teacher"]).review_status = "approved"  # approved, no quote
    viewer = as_role("viewer")
    page = viewer.get(f"/admin/rounds/{built.code}/quotes").get_data(as_text=True)
    assert "[name] from [school] was sound with me, ring me on [phone]" in page
    assert "jayden" not in page and "Miss Grant" not in page and "[name] helped me" not in page
    assert viewer.get(f"/admin/rounds/{built.code}/review").status_code == 403
    assert viewer.get(f"/admin/rounds/{built.code}/review/{built.ids['school']}").status_code == 403


def test_round_tabs_follow_the_role(as_role, built):
    lead = as_role("lead").get(f"/admin/rounds/{built.code}/dashboard").get_data(as_text=True)
    viewer = as_role("viewer").get(f"/admin/rounds/{built.code}/dashboard").get_data(as_text=True)
    assert f"/admin/rounds/{built.code}/review" in lead
    assert f"/admin/rounds/{built.code}/review" not in viewer
    assert f"/admin/rounds/{built.code}/quotes" in viewer


def test_texts_used_by_the_seed_are_secret_markers():
    # Guards the other tests: the markers are what those tests search for.
    assert "FLAGMARK" in FLAGGED_TEXT and "CASEMARK" in CASE_TEXT
    assert "OTHERMARK" in OTHER_ROUND_TEXT


def test_the_question_filter_tells_follow_ups_apart(as_role, built):
    page = as_role("reviewer").get(f"/admin/rounds/{built.code}/review").get_data(as_text=True)
    # "Tell us why." alone would be the same four times; each comes after its own question.
    assert ">How was your time with the YOT? Tell us why.<" in page
    assert ">Tell us why.<" not in page


@pytest.mark.backends("sqlite", "postgres")  # the one test of written_questions on PostgreSQL
def test_the_question_filter_lists_questions_only_answers_hold(rt, as_role, built):
    """An import's own question (or a retired one) is not asked by the round, but its
    answers are in the queue: the filter must reach them."""
    import html

    from surveys.storage.models import Respondent

    qid = "prevention.what_stops"  # not one of the round's priorities
    with rt.transaction() as s:
        rnd = store.get_round(s, built.code)
        person = s.scalars(select(Respondent).where(Respondent.round_id == rnd.id)).first()
        s.add(
            Answer(
                round_id=rnd.id, respondent_id=person.id, priority="prevention",
                question_id=qid, audience="child", channel="import",
                text="a youth club on fridays", redacted="a youth club on fridays",
                inbound_key="test:imported-question",
            )
        )  # fmt: skip
    wording = rt.catalogue.heading(qid, "child")
    page = as_role("reviewer").get(f"/admin/rounds/{built.code}/review").get_data(as_text=True)
    assert f'value="{qid}"' in page and html.escape(wording) in page
