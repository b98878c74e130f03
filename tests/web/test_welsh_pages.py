"""The public pages in Welsh: every string translated, the page's language chosen as the Welsh
Language Standards ask (a link, the browser on a first visit, the person's choice kept), a
link to the same page in the other language, and nothing lost on a switch."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from surveys.core import engine
from surveys.storage import store
from surveys.storage.models import Respondent
from tests.web.conftest import form_of, live_answers
from tests.web.test_public import Visitor, answer_everything

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "web/translations/cy/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
TEXTS = engine.default_texts()
WELSH_DANGER = TEXTS.get("danger", "child", "cy")
ENGLISH_DANGER = TEXTS.get("danger", "child")


def _po() -> list:
    with PO.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def _mo() -> list:
    with MO.open("rb") as f:
        return [m for m in read_mo(f) if m.id]


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def _open(session_factory, **kw):
    with session_factory() as s, s.begin():
        return store.open_round(
            s,
            kw.pop("catalogue"),
            title="Arolwg",
            priorities=["policing", "remands"],
            audiences=["child", "parent"],
            **kw,
        ).code


@pytest.fixture
def bilingual(rt):
    return _open(rt.sessions, catalogue=rt.catalogue, languages=["cy", "en"])


@pytest.fixture
def welsh_only(rt):
    return _open(rt.sessions, catalogue=rt.catalogue, languages=["cy"])


# --------------------------------------------------------------------------- catalogues


def test_every_public_string_has_welsh():
    """Extract the strings of the public pages afresh: each has a Welsh translation."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, _options = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    wanted = set()
    for pattern, method in method_map:  # babel.cfg names paths from the repository root
        rel = pattern.removeprefix("web/")
        found = extract_from_dir(str(ROOT / "web"), [(rel, method)], keywords=keywords)
        wanted |= {msg if isinstance(msg, str) else msg[0] for _, _, msg, *_ in found}
    welsh = {m.id: m.string for m in _po()}
    assert len(wanted) > 40
    assert sorted(i for i in wanted if not welsh.get(i)) == []
    assert not any(m.fuzzy for m in _po())


def test_compiled_welsh_is_current():
    """The committed .mo says exactly what the .po says (run pybabel compile after edits)."""
    po = {m.id: m.string for m in _po()}
    mo = {m.id: m.string for m in _mo()}
    assert mo == po


def test_every_privacy_notice_has_a_welsh_page():
    english = sorted(p.name for p in (ROOT / "web/templates/privacy").glob("*.html"))
    welsh = sorted(p.name for p in (ROOT / "web/templates/privacy/cy").glob("*.html"))
    assert english == welsh == ["adults.html", "child.html"]


# --------------------------------------------------------------------------- the journey


@pytest.mark.parametrize("inline", [False, True], ids=["javascript-off", "javascript-on"])
def test_a_child_answers_in_welsh_from_a_welsh_link(rt, client, bilingual, inline):
    v = Visitor(client, f"/r/{bilingual}/child?lang=cy", inline=inline)
    v.open()
    v.path = f"/r/{bilingual}/child"  # the form posts to the page itself
    pages = [v.html]
    assert "Haia! Dyma Arolwg." in v.text
    v.tap(TEXTS.get("consent_yes", "child", "cy"))
    pages.append(v.html)
    assert "Cwestiwn 1 o" in v.text
    for _ in range(40):
        if v.question is None:
            break
        choices = [val for n, val, _ in form_of(v.html).buttons if n == "choice"]
        v.post(choice=choices[0]) if choices else v.answer("Roedden nhw'n deg gyda fi.")
        assert v.status == 200, v.text
        pages.append(v.html)
    assert all(_lang(p) == "cy" for p in pages)
    assert all("Take back your answers" not in p for p in pages)
    assert WELSH_DANGER in v.text  # the danger line on the last page
    assert "Diolch!" in v.text and "Cymryd dy atebion yn ôl" in v.text
    assert "Roedden nhw'n deg gyda fi." in [t for _, t in live_answers(rt)]
    with rt.transaction() as s:
        assert {r.language for r in s.query(Respondent)} == {"cy"}


def test_the_same_journey_in_english_stays_english(rt, client, bilingual):
    v = Visitor(client, f"/r/{bilingual}/child?lang=en")
    v.open()
    v.path = f"/r/{bilingual}/child"
    assert _lang(v.html) == "en-GB"
    v.tap(TEXTS.get("consent_yes", "child"))
    answer_everything(v)
    assert _lang(v.html) == "en-GB"
    assert ENGLISH_DANGER in v.text
    assert 'hreflang="cy"' in v.html and ">Cymraeg</a>" in v.html


def test_the_browser_language_chooses_on_a_first_visit(client, bilingual):
    page = client.get(f"/r/{bilingual}/child", headers={"Accept-Language": "cy-GB,cy;q=0.9"})
    assert _lang(page.get_data(as_text=True)) == "cy"
    english = client.get("/privacy", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert _lang(english.get_data(as_text=True)) == "en-GB"


def test_the_person_s_choice_beats_the_browser(client, bilingual):
    client.get(f"/r/{bilingual}/child?lang=en", headers={"Accept-Language": "cy"})
    again = client.get(f"/r/{bilingual}/child", headers={"Accept-Language": "cy"})
    assert _lang(again.get_data(as_text=True)) == "en-GB"
    index = client.get("/", headers={"Accept-Language": "cy"})  # the choice is remembered
    assert _lang(index.get_data(as_text=True)) == "en-GB"


def test_switching_language_mid_question_keeps_the_place_and_answers(rt, client, bilingual):
    v = Visitor(client, f"/r/{bilingual}/child?lang=en")
    v.open()
    v.path = f"/r/{bilingual}/child"
    v.tap("OK, let's start")
    v.answer("they were fair")
    asked = v.question
    link = re.search(r'<a href="([^"]+)" lang="cy"', v.html).group(1)
    assert link == f"/r/{bilingual}/child?lang=cy"
    welsh = client.get(link)
    html = welsh.get_data(as_text=True)
    assert welsh.status_code == 200 and _lang(html) == "cy"
    assert form_of(html).hidden["question"] == asked
    assert "Cwestiwn 2 o" in html
    assert [t for _, t in live_answers(rt)] == ["they were fair"]
    back = client.get(f"/r/{bilingual}/child?lang=en")
    assert form_of(back.get_data(as_text=True)).hidden["question"] == asked


def test_a_welsh_only_round_reached_by_an_english_link_is_welsh(client, welsh_only):
    page = client.get(f"/r/{welsh_only}/child?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _lang(html) == "cy"
    assert "Haia!" in html
    assert "language-link" not in html  # nothing to switch to in this round


def test_an_unknown_language_gives_a_working_page(client, bilingual):
    for path in ("/", "/privacy", f"/r/{bilingual}/child", "/r/withdraw"):
        page = client.get(path + "?lang=klingon")
        assert page.status_code == 200, path
        assert _lang(page.get_data(as_text=True)) in ("en-GB", "cy")


@pytest.mark.parametrize("path", ["/", "/privacy", "/privacy/adults", "/r/withdraw"])
def test_every_public_page_links_to_itself_in_the_other_language(client, path):
    english = client.get(path).get_data(as_text=True)
    assert f'<a href="{path}?lang=cy" lang="cy" hreflang="cy">Cymraeg</a>' in english
    welsh = client.get(path + "?lang=cy").get_data(as_text=True)
    assert _lang(welsh) == "cy"
    assert f'<a href="{path}?lang=en" lang="en" hreflang="en">English</a>' in welsh
    assert welsh != english


def test_welsh_privacy_withdrawal_and_errors(client):
    child = unescape(client.get("/privacy?lang=cy").get_data(as_text=True))
    assert "Beth rydyn ni'n ei wneud gyda dy atebion" in child
    assert "Meic" in child and 'href="tel:08088023456"' in child
    assert "Hysbysiad preifatrwydd" in client.get("/privacy/adults").get_data(as_text=True)
    assert "Cymryd dy atebion yn ôl" in client.get("/r/withdraw").get_data(as_text=True)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Heb ddod o hyd i'r dudalen" in unescape(missing.get_data(as_text=True))
    unknown = unescape(client.get("/r/NOPE99/child").get_data(as_text=True))
    assert "allwn ni ddim dod o hyd i'r arolwg" in unknown


def test_the_closed_round_page_is_welsh(rt, client, bilingual):
    client.get(f"/r/{bilingual}/child?lang=cy")
    with rt.transaction() as s:
        store.set_status(s, bilingual, "closed")
    page = client.get(f"/r/{bilingual}/child")
    html = unescape(page.get_data(as_text=True))
    assert page.status_code == 410 and _lang(html) == "cy"
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "mae'r arolwg wedi cau" in text and WELSH_DANGER.replace("  ", " ") in text
    assert "Neu Meic 080880 23456 (am ddim)." in text  # the second helpline, on Welsh pages


def test_staff_screens_stay_english(client):
    page = client.get("/admin/login?lang=cy", headers={"Accept-Language": "cy"})
    html = page.get_data(as_text=True)
    assert "language-link" not in html
    assert 'lang="cy"' not in html


def test_a_bilingual_round_s_kit_and_poster_are_welsh_first(app, staff, bilingual):
    from tests.web.test_admin_rounds import lead_on

    lead = lead_on(app, staff)
    kit = unescape(lead.get(f"/admin/rounds/{bilingual}/invite/child").get_data(as_text=True))
    assert "offered in Welsh and English, in that order" in kit
    assert "Dywed dy farn" in kit and "Tell us what you think" in kit
    assert kit.index("Dywed dy farn") < kit.index("Tell us what you think")
    poster = unescape(
        lead.get(f"/admin/rounds/{bilingual}/invite/child/poster").get_data(as_text=True)
    )
    assert '<section lang="cy">' in poster and '<section lang="en-GB">' in poster
    assert poster.index("Dweud dy ddweud") < poster.index("Have your say")
    assert WELSH_DANGER in poster and ENGLISH_DANGER in poster


def test_the_round_page_says_which_languages_it_is_offered_in(app, staff, bilingual):
    from tests.web.test_admin_rounds import lead_on

    page = lead_on(app, staff).get(f"/admin/rounds/{bilingual}").get_data(as_text=True)
    assert "Offered in Welsh and English, in that order." in page
