"""The themes pages through Flask's test client: find, rename, merge, split and move, and
the lead's edits surviving "Find themes again"; per-object 404s; flagged answers absent."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from surveys.storage import store
from surveys.storage.models import AnswerTheme, Theme
from tests.test_theming import QID, keyword_finder
from tests.test_theming import themed as themed
from tests.web.conftest import hidden_fields


@pytest.fixture(autouse=True)
def predictable_engine(monkeypatch):
    """Group by topic word: the web layer is under test here, not the clustering."""
    from surveys.analysis import clustering as engine

    monkeypatch.setattr(engine, "find_themes", keyword_finder)


def token(client) -> str:
    return hidden_fields(client.get("/admin/").get_data(as_text=True))["csrf_token"]


def base(code: str) -> str:
    return f"/admin/rounds/{code}/themes/{QID}"


def labels(rt, code) -> dict[str, set[int]]:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        out: dict[str, set[int]] = {
            t.label: set()
            for t in s.scalars(
                select(Theme).where(Theme.round_id == rnd.id, Theme.question_id == QID)
            )
        }
        for label, aid in s.execute(
            select(Theme.label, AnswerTheme.answer_id)
            .join(AnswerTheme, AnswerTheme.theme_id == Theme.id)
            .where(Theme.round_id == rnd.id)
        ):
            out[label].add(aid)
        return out


def theme_id(rt, code, label) -> int:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        return s.scalar(select(Theme.id).where(Theme.round_id == rnd.id, Theme.label == label))


def find(client, code):
    res = client.post(f"{base(code)}/recompute", data={"csrf_token": token(client)})
    assert res.status_code == 303
    return res


def test_find_themes_then_see_them_with_counts_and_typical_answers(as_role, themed):
    code, _, _ = themed
    client = as_role("reviewer")
    empty = client.get(base(code)).get_data(as_text=True)
    assert "No themes yet" in empty and "Find themes" in empty
    res = find(client, code)
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Found 3 themes in 12 answers." in page
    assert page.count('class="theme-card"') == 3
    assert "4 answers" in page and "somewhere to go at night like a club" in page
    assert "1 answer is with the safeguarding lead." in page
    assert "THEMEFLAG" not in page and "hurt me" not in page
    overview = client.get(f"/admin/rounds/{code}/themes").get_data(as_text=True)
    assert "What should the YOT work on next year?" in overview


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_rename_merge_split_move_and_all_survive_find_again(as_role, themed, rt):
    code, _, ids = themed
    client = as_role("lead")
    find(client, code)
    clubs, police, school = (theme_id(rt, code, x) for x in ("clubs", "polices", "schools"))

    res = client.post(
        f"{base(code)}/{clubs}/rename",
        data={"csrf_token": token(client), "label": "Somewhere to go"},
    )
    assert res.status_code == 303
    res = client.post(
        f"{base(code)}/merge",
        data={
            "csrf_token": token(client),
            "theme_ids": [police, school],
            "label": "Fair treatment",
        },
    )
    assert res.status_code == 303
    merged = theme_id(rt, code, "Fair treatment")
    res = client.post(
        f"{base(code)}/answers",
        data={
            "csrf_token": token(client),
            "op": "split",
            "from": merged,
            "ids": ids["school"][:2],
            "label": "School",
        },
    )
    assert res.status_code == 303 and re.search(
        r"/themes/general\.next_year/\d+$", res.headers["Location"]
    )
    new = theme_id(rt, code, "School")
    res = client.post(
        f"{base(code)}/answers",
        data={
            "csrf_token": token(client),
            "op": "move",
            "from": clubs,
            "ids": [ids["clubs"][0]],
            "to": new,
        },
    )
    assert res.status_code == 303

    before = labels(rt, code)
    assert before == {
        "Somewhere to go": set(ids["clubs"][1:]),
        "Fair treatment": set(ids["police"] + ids["school"][2:]),
        "School": set(ids["school"][:2] + ids["clubs"][:1]),
    }
    find(client, code)
    find(client, code)
    assert labels(rt, code) == before
    page = client.get(base(code)).get_data(as_text=True)
    assert "Named by you" in page and "placed by hand" in page


def test_theme_page_lists_members_and_offers_move_and_split(as_role, themed, rt):
    code, _, ids = themed
    client = as_role("reviewer")
    find(client, code)
    tid = theme_id(rt, code, "clubs")
    page = client.get(f"{base(code)}/{tid}").get_data(as_text=True)
    assert set(re.findall(r'name="ids" value="(\d+)"', page)) == {str(i) for i in ids["clubs"]}
    assert "Make a new theme" in page and "Move the ticked answers" in page


def test_ids_from_another_round_or_question_are_404(as_role, themed, rt):
    code, other_code, ids = themed
    client = as_role("lead")
    find(client, code)
    tid = theme_id(rt, code, "clubs")
    csrf = token(client)
    assert client.get(f"/admin/rounds/{other_code}/themes/{QID}/{tid}").status_code == 404
    assert client.get(f"/admin/rounds/{code}/themes/policing.opinion/{tid}").status_code == 404
    assert client.get(f"/admin/rounds/{code}/themes/not.a.question").status_code == 404
    assert client.get(f"/admin/rounds/{code}/themes/..%2F..").status_code == 404
    for url, data in [
        (f"/admin/rounds/{other_code}/themes/{QID}/{tid}/rename", {"label": "x"}),
        (f"/admin/rounds/{other_code}/themes/{QID}/{tid}/delete", {}),
        (f"{base(code)}/merge", {"theme_ids": [tid, 999999]}),
        (f"{base(code)}/answers", {"op": "move", "to": tid, "ids": ids["other"]}),
        (f"{base(code)}/answers", {"op": "move", "to": tid, "ids": ids["flagged"]}),
        (
            f"{base(code)}/answers",
            {"op": "split", "from": tid, "ids": ids["police"][:1], "label": "x"},
        ),
    ]:
        res = client.post(url, data={"csrf_token": csrf, **data})
        assert res.status_code == 404, url
    assert labels(rt, code)["clubs"] == set(ids["clubs"])


def test_mistakes_are_explained_and_change_nothing(as_role, themed, rt):
    code, _, _ = themed
    client = as_role("reviewer")
    find(client, code)
    tid = theme_id(rt, code, "clubs")
    res = client.post(
        f"{base(code)}/{tid}/rename", data={"csrf_token": token(client), "label": "   "}
    )
    assert "Give the theme a name." in client.get(res.headers["Location"]).get_data(as_text=True)
    res = client.post(f"{base(code)}/merge", data={"csrf_token": token(client), "theme_ids": [tid]})
    assert "at least two themes" in client.get(res.headers["Location"]).get_data(as_text=True)
    assert theme_id(rt, code, "clubs") == tid


def test_delete_leaves_answers_waiting_and_find_again_places_them(as_role, themed, rt):
    code, _, _ = themed
    client = as_role("lead")
    find(client, code)
    tid = theme_id(rt, code, "clubs")
    client.post(f"{base(code)}/{tid}/delete", data={"csrf_token": token(client)})
    page = client.get(base(code)).get_data(as_text=True)
    assert "4 answers are in no theme yet" in page and "Answers in no theme" in page
    find(client, code)
    assert "in no theme" not in client.get(base(code)).get_data(as_text=True)
