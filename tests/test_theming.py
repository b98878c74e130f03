"""Themes per question are stored, and the lead's renames, merges, splits and moves survive
every recompute (SQLite and PostgreSQL). All answers are invented."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from surveys.analysis import clustering as engine
from surveys.services import themes
from surveys.storage import store
from surveys.storage.models import Answer, AnswerTheme, Respondent, SafeguardingCase, Theme

QID = "general.next_year"
TOPICS = {
    "clubs": [
        "more youth clubs open late",
        "a youth club near my estate",
        "clubs with football and music",
        "somewhere to go at night like a club",
    ],
    "police": [
        "police should stop searching us for nothing",
        "the police need to be fair",
        "less stop and search by police",
        "police talking to us with respect",
    ],
    "school": [
        "help in school so you don't get excluded",
        "school that listens to you",
        "proper support at school with lessons",
        "less exclusion from school",
    ],
}
FLAGGED = "he said he would hurt me if I told THEMEFLAG"


def keyword_finder(texts):
    """A stand-in engine: groups by topic word, deterministic and easy to reason about."""
    groups: dict[str, list[int]] = {"club": [], "police": [], "school": []}
    rest = []
    for i, t in enumerate(texts):
        for word, members in groups.items():
            if word in t.lower():
                members.append(i)
                break
        else:
            rest.append(i)
    out = []
    for n, (word, members) in enumerate((w, m) for w, m in groups.items() if m):
        out.append(engine.Theme(n + 1, word + "s", (word,), tuple(members), tuple(members[:2])))
    if rest:
        out.append(
            engine.Theme(
                len(out) + 1, engine.UNCLEAR_LABEL, (), tuple(rest), tuple(rest[:2]), unclear=True
            )
        )
    return out


@pytest.fixture
def themed(rt):
    """A round with 12 answers to one question (3 topics), one flagged, one elsewhere."""
    keys = itertools.count(1)
    ids: dict[str, list[int]] = {}
    with rt.transaction() as s:
        rnd = store.open_round(
            s, rt.catalogue, title="Themes", priorities=["policing"], audiences=["child"]
        )
        other = store.open_round(
            s, rt.catalogue, title="Other", priorities=["policing"], audiences=["child"]
        )

        def add(r, text, qid=QID, flagged=False):
            n = next(keys)
            p = Respondent(
                id=f"{n:032x}",
                round_id=r.id,
                channel="web",
                audience="child",
                withdraw_hash=f"{n:064x}",
                state={},
                state_version=0,
            )
            s.add(p)
            s.flush()
            a = Answer(
                round_id=r.id,
                respondent_id=p.id,
                priority=qid.split(".")[0],
                question_id=qid,
                audience="child",
                channel="web",
                text=text,
                redacted=text,
                redactions=[],
                inbound_key=f"t:{n}",
                flagged=flagged,
            )
            s.add(a)
            s.flush()
            return a.id

        for topic, texts in TOPICS.items():
            ids[topic] = [add(rnd, t) for t in texts]
        flagged = add(rnd, FLAGGED, flagged=True)
        s.add(SafeguardingCase(answer_id=flagged, round_id=rnd.id, categories=["abuse"]))
        ids["flagged"] = [flagged]
        ids["elsewhere"] = [add(rnd, "police were fine", qid="policing.opinion")]
        ids["other"] = [add(other, "more clubs please")]
        return rnd.code, other.code, ids


def _recompute(rt, code, finder=keyword_finder):
    with rt.transaction() as s:
        return themes.recompute(s, store.get_round(s, code), QID, finder=finder)


def _load(rt, code):
    with rt.transaction() as s:
        return themes.load(s, store.get_round(s, code), QID)


def _members(rt, code) -> dict[str, set[int]]:
    """Return label -> answer ids of the question's themes."""
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        rows = s.execute(
            select(Theme.label, AnswerTheme.answer_id)
            .join(AnswerTheme, AnswerTheme.theme_id == Theme.id)
            .where(Theme.round_id == rnd.id, Theme.question_id == QID)
        ).all()
        out: dict[str, set[int]] = {}
        for t in s.scalars(select(Theme).where(Theme.round_id == rnd.id)):
            out.setdefault(t.label, set())
        for label, aid in rows:
            out[label].add(aid)
        return out


def _theme(rt, code, label) -> int:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        return s.scalar(select(Theme.id).where(Theme.round_id == rnd.id, Theme.label == label))


def test_recompute_stores_themes_for_eligible_answers_only(rt, themed):
    code, _, ids = themed
    result = _recompute(rt, code)
    assert (result.themes, result.answers, result.pinned) == (3, 12, 0)
    members = _members(rt, code)
    assert members == {
        "clubs": set(ids["clubs"]),
        "polices": set(ids["police"]),
        "schools": set(ids["school"]),
    }
    data = _load(rt, code)
    assert data.hidden == 1 and data.unplaced == 0
    assert [t.count for t in data.themes] == [4, 4, 4]
    shown = " ".join(r.text for t in data.themes for r in t.representatives)
    assert "THEMEFLAG" not in shown
    assert all(len(t.representatives) == 3 for t in data.themes)


def test_recompute_with_the_real_engine_is_deterministic(rt, themed):
    code, _, ids = themed
    _recompute(rt, code, finder=None)
    first = _members(rt, code)
    _recompute(rt, code, finder=None)
    assert _members(rt, code) == first
    placed = set().union(*first.values())
    assert placed == set(ids["clubs"] + ids["police"] + ids["school"])
    assert all("THEMEFLAG".lower() not in label.lower() for label in first)


def test_unchanged_engine_themes_keep_their_ids(rt, themed):
    code, _, _ = themed
    _recompute(rt, code)
    before = _theme(rt, code, "clubs")
    _recompute(rt, code)
    assert _theme(rt, code, "clubs") == before


def test_a_renamed_theme_keeps_its_name_through_a_recompute(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    tid = _theme(rt, code, "clubs")
    with rt.transaction() as s:
        themes.rename(themes.get_theme(s, store.get_round(s, code), QID, tid), "  Places to go  ")
    result = _recompute(rt, code)
    assert result.kept_labels == 1
    members = _members(rt, code)
    assert members["Places to go"] == set(ids["clubs"]) and "clubs" not in members
    assert _theme(rt, code, "Places to go") == tid


def test_merged_themes_stay_merged_through_a_recompute(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    a, b = _theme(rt, code, "polices"), _theme(rt, code, "schools")
    with rt.transaction() as s:
        keep = themes.merge(s, store.get_round(s, code), QID, [a, b], "Being treated fairly")
        assert keep.source == "lead"
    _recompute(rt, code)
    members = _members(rt, code)
    assert members["Being treated fairly"] == set(ids["police"] + ids["school"])
    assert set(members) == {"clubs", "Being treated fairly"}
    assert _load(rt, code).themes[0].pinned == 8


def test_a_split_theme_and_its_answers_survive_a_recompute(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    tid = _theme(rt, code, "polices")
    picked = ids["police"][:2]
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        new = themes.split(
            s, rnd, QID, themes.get_theme(s, rnd, QID, tid), picked, "Stop and search"
        )
        assert new.source == "lead"
    _recompute(rt, code)
    members = _members(rt, code)
    assert members["Stop and search"] == set(picked)
    assert members["polices"] == set(ids["police"][2:])


def test_moved_answers_stay_where_the_lead_put_them(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    to = _theme(rt, code, "schools")
    moved = ids["clubs"][0]
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        assert themes.move(s, rnd, QID, [moved], themes.get_theme(s, rnd, QID, to)) == 1
    _recompute(rt, code)
    members = _members(rt, code)
    assert moved in members["schools"] and moved not in members["clubs"]
    assert sum(moved in m for m in members.values()) == 1


def test_every_edit_survives_the_same_recompute(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    tids = {label: _theme(rt, code, label) for label in ("clubs", "polices", "schools")}
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        clubs = themes.get_theme(s, rnd, QID, tids["clubs"])
        themes.rename(clubs, "Somewhere to go")
        police = themes.get_theme(s, rnd, QID, tids["polices"])
        themes.split(s, rnd, QID, police, [ids["police"][0]], "Searches")
        themes.move(s, rnd, QID, [ids["school"][0]], clubs)
    before = _members(rt, code)
    _recompute(rt, code)
    _recompute(rt, code)
    assert _members(rt, code) == before
    assert _theme(rt, code, "schools") == tids["schools"]


def test_a_theme_emptied_by_the_engine_is_dropped_unless_the_lead_named_it(rt, themed):
    code, _, _ = themed
    _recompute(rt, code)
    tid = _theme(rt, code, "schools")
    with rt.transaction() as s:
        themes.rename(themes.get_theme(s, store.get_round(s, code), QID, tid), "Education")

    def no_schools(texts):
        return [t for t in keyword_finder(texts) if t.label != "schools"]

    _recompute(rt, code, finder=no_schools)
    members = _members(rt, code)
    assert members["Education"] == set()  # the lead's theme stays, empty, for them to judge
    _recompute(rt, code)  # the engine finds the school answers again: back under the name
    assert len(_members(rt, code)["Education"]) == 4


def test_answers_flagged_after_theming_leave_their_theme(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    to = _theme(rt, code, "schools")
    victim = ids["clubs"][1]
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        themes.move(s, rnd, QID, [victim], themes.get_theme(s, rnd, QID, to))
        s.get(Answer, victim).flagged = True
    data = _load(rt, code)
    assert victim not in {r.answer_id for t in data.themes for r in t.representatives}
    assert sum(t.count for t in data.themes) == 11
    _recompute(rt, code)
    assert victim not in set().union(*_members(rt, code).values())


def test_new_answers_wait_unplaced_until_the_next_recompute(rt, themed):
    code, _, ids = themed
    _recompute(rt, code)
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        old = s.get(Answer, ids["clubs"][0])
        s.add(
            Answer(
                round_id=rnd.id,
                respondent_id=old.respondent_id,
                priority="general",
                question_id=QID,
                audience="child",
                channel="web",
                text="a club for girls",
                redacted="a club for girls",
                inbound_key="t:new",
            )
        )
    assert _load(rt, code).unplaced == 1
    with rt.transaction() as s:
        assert [m.text for m in themes.unplaced(s, store.get_round(s, code), QID)] == [
            "a club for girls"
        ]
    _recompute(rt, code)
    assert _load(rt, code).unplaced == 0


def test_ids_from_another_round_or_question_are_refused(rt, themed):
    code, other_code, ids = themed
    _recompute(rt, code)
    tid = _theme(rt, code, "clubs")
    with rt.transaction() as s:
        other = store.get_round(s, other_code)
        with pytest.raises(themes.ThemeNotFound):
            themes.get_theme(s, other, QID, tid)
        rnd = store.get_round(s, code)
        with pytest.raises(themes.ThemeNotFound):
            themes.get_theme(s, rnd, "policing.opinion", tid)
        theme = themes.get_theme(s, rnd, QID, tid)
        for bad in (ids["other"], ids["elsewhere"], ids["flagged"]):
            with pytest.raises(themes.ThemeNotFound):
                themes.move(s, rnd, QID, bad, theme)
        with pytest.raises(themes.ThemeNotFound):  # not a member of the theme being split
            themes.split(s, rnd, QID, theme, ids["police"][:1], "x")


def test_edit_mistakes_are_explained(rt, themed):
    code, _, _ = themed
    _recompute(rt, code)
    tid = _theme(rt, code, "clubs")
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        theme = themes.get_theme(s, rnd, QID, tid)
        for call in (
            lambda: themes.rename(theme, "   "),
            lambda: themes.rename(theme, "x" * 201),
            lambda: themes.merge(s, rnd, QID, [tid]),
            lambda: themes.move(s, rnd, QID, [], theme),
        ):
            with pytest.raises(themes.ThemeError):
                call()


def test_deleting_a_theme_leaves_its_answers_unplaced(rt, themed):
    code, _, _ = themed
    _recompute(rt, code)
    tid = _theme(rt, code, "clubs")
    with rt.transaction() as s:
        themes.remove(s, themes.get_theme(s, store.get_round(s, code), QID, tid))
    assert _load(rt, code).unplaced == 4
    with rt.transaction() as s:
        assert s.scalar(select(AnswerTheme).where(AnswerTheme.theme_id == tid)) is None


def test_question_overview_counts(rt, themed):
    code, _, _ = themed
    _recompute(rt, code)
    with rt.transaction() as s:
        summary = {q.question_id: q for q in themes.questions(s, store.get_round(s, code))}
    assert (summary[QID].answers, summary[QID].themes) == (12, 3)
    assert (summary["policing.opinion"].answers, summary["policing.opinion"].themes) == (1, 0)
