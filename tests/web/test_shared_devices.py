"""Shared devices and safety on screen (issue 13): the office tablet and the family phone.

The next person to pick up a device must not see the last person's answers or withdrawal
code; a young person who may have disclosed harm sees where to get help first, on every
page after, reload or not.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from surveys.storage.models import Answer, Respondent, SafeguardingCase, utcnow
from tests.web.conftest import count, hidden_fields
from tests.web.test_public import TEXTS, Visitor, answer_everything, child

DISCLOSURE = "the police are ok. my stepdad hits me when he is drunk"


def _leave(rt, minutes: int) -> None:
    """Move every survey's last step this many minutes into the past."""
    with rt.transaction() as s:
        s.execute(update(Respondent).values(updated_at=utcnow() - timedelta(minutes=minutes)))


def _who(v: Visitor, choice: str) -> None:
    """Press a button of the "Is this you?" page (its form posts to /who)."""
    action = re.search(r'<form method="post" action="([^"]+/who)"', v.html).group(1)
    r = v.client.post(action, data={**hidden_fields(v.html), "choice": choice})
    assert r.status_code == 303
    v.open()


def _contact_form(html: str) -> tuple[str, dict[str, str]]:
    start = html.index('class="contact-offer"')
    part = html[start : html.index("</form>", start)]
    action = re.search(r'action="([^"]+)"', part).group(1)
    return action, hidden_fields(part)


def _cookie_header(response) -> str:
    return "; ".join(v for k, v in response.headers.items() if k.lower() == "set-cookie")


# ---- the thank-you page forgets the device ------------------------------------------------


def test_the_thank_you_page_shows_the_code_once_and_the_device_forgets(rt, open_round, client):
    v = child(client, open_round).start()
    answer_everything(v)
    assert v.question is None and "Write the code down or take a photo" in v.text
    with rt.transaction() as s:
        (resp,) = s.scalars(select(Respondent)).all()
    # The thank-you page deleted the link's cookie...
    assert client.get_cookie("yjv_child", path=f"/r/{open_round}") is None
    # ...so the next person to open the link starts afresh and sees no one's code.
    v.open()
    assert v.question == "@consent"
    assert count(rt, Respondent) == 2 and resp.id not in v.html


def test_the_thank_you_page_forgets_with_the_script_too(rt, open_round, client):
    v = child(client, open_round, inline=True).start()
    answer_everything(v)
    assert client.get_cookie("yjv_child", path=f"/r/{open_round}") is None


# ---- a survey left idle --------------------------------------------------------------------


def test_a_survey_left_for_a_while_asks_who_is_there_before_showing_anything(
    rt, open_round, client
):
    v = child(client, open_round).start()
    v.answer("They were alright with me")
    _leave(rt, 31)
    v.open()
    assert "Is this you?" in v.text
    assert "They were alright" not in v.text and v.question is None  # no answers, no form
    _who(v, "carry_on")
    assert v.question == "policing.stop_search"  # where they were
    _leave(rt, 31)
    v.open()
    _who(v, "someone_else")
    assert v.question == "@consent"  # a new survey for the new person
    assert count(rt, Respondent) == 2
    with rt.transaction() as s:  # the first person's answers are kept
        assert s.scalars(select(Answer.text)).all() == ["They were alright with me"]


def test_a_short_break_carries_straight_on(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("Fine")
    _leave(rt, 10)
    v.open()
    assert v.question == "policing.stop_search"


# ---- the office tablet ---------------------------------------------------------------------


def test_a_shared_device_keeps_its_place_only_for_the_session(rt, open_round, client):
    r = client.get(f"/r/{open_round}/child?device=shared")
    cookies = _cookie_header(r)
    assert "yjv_device=shared" in cookies
    resume_cookie = next(c for c in cookies.split(", yjv") if "yjv_child" in c or "child=" in c)
    assert "Max-Age" not in resume_cookie and "Expires" not in resume_cookie


def test_a_shared_device_left_alone_starts_afresh_for_the_next_person(rt, open_round, client):
    v = Visitor(client, f"/r/{open_round}/child?device=shared")
    v.open()
    v.path = f"/r/{open_round}/child"  # the tablet remembers it is shared for the session
    v.tap(TEXTS.get("consent_yes", None))
    v.answer("First person's answer")
    page = v.html
    assert 'data-idle-restart="300"' in page  # the script restarts it after 5 minutes
    _leave(rt, 6)
    # A tap on the question left on screen is not added to the last person's survey.
    v.post(answer="Next person's answer")
    assert "Is this you?" in v.text
    v.open()
    assert v.question == "@consent"  # a fresh start, without asking
    with rt.transaction() as s:
        assert s.scalars(select(Answer.text)).all() == ["First person's answer"]


# ---- help on screen after a disclosure -----------------------------------------------------


def _help_box(html: str) -> str:
    start = html.index('class="help-now"')
    return html[start : html.index("</aside>", start)]


def test_help_is_first_on_every_page_after_a_disclosure_even_after_a_reload(rt, open_round, client):
    v = child(client, open_round).start()
    assert 'class="help-now"' not in v.html
    v.answer(DISCLOSURE)
    box = _help_box(v.html)
    assert "999" in box and 'href="tel:08001111"' in box
    # Before the question: on a phone it is on screen without scrolling.
    assert v.html.index('class="help-now"') < v.html.index("<form")
    v.open()  # a reload
    assert 'class="help-now"' in v.html
    v.command("skip")
    assert 'class="help-now"' in v.html


def test_a_way_to_reach_them_can_be_left_after_the_last_question(rt, open_round, client):
    v = child(client, open_round).start()
    for _ in range(40):  # skip to the last question
        if v.question == "general.anything_else":
            break
        v.command("skip")
    v.answer(DISCLOSURE)
    assert v.question is None and "Do you want someone to contact you?" in v.text
    # The thank-you page forgot the device; the contact form carries its own short-lived key.
    assert client.get_cookie("yjv_child", path=f"/r/{open_round}") is None
    action, fields = _contact_form(v.html)
    assert "contact_token" in fields
    res = client.post(action, data={**fields, "contact": "07700 900123"})
    assert res.status_code == 200 and "A safe adult" in res.get_data(as_text=True)
    with rt.transaction() as s:
        assert s.scalars(select(SafeguardingCase.contact)).all() == ["07700 900123"]


def test_a_forged_contact_key_leaves_nothing(rt, open_round, client):
    res = client.post(
        f"/r/{open_round}/child/contact", data={"contact_token": "forged", "contact": "x"}
    )
    assert res.status_code in (400, 403)
    assert count(rt, SafeguardingCase) == 0


# ---- the web says what the page has ---------------------------------------------------------


def test_help_and_errors_speak_of_buttons_not_typed_words(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("   ")
    assert 'press "Skip this question"' in v.text.replace("“", '"').replace("”", '"')
    assert "say skip" not in v.text.lower()
    v.command("help")
    assert "Press" in v.text and 'Say "skip"' not in v.text
    assert TEXTS.get("help", "child").splitlines()[0] in v.text
