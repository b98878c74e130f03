"""The respondent web form's promises, on SQLite and PostgreSQL, through the Flask client."""

from __future__ import annotations

import html
import logging
import re
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from surveys.core import engine
from surveys.storage import store
from surveys.storage.models import Answer, Inbound, Respondent, Round
from tests.web.conftest import count, form_of, hidden_fields, live_answers
from web import create_app

TEXTS = engine.default_texts().for_channel("web")  # the web form says "press Skip"
DANGER = TEXTS.get("danger", None)
CHILD_HELP_FIRST_LINE = TEXTS.get("help", "child").splitlines()[0]


class Visitor:
    """One person with one browser (the client's cookie jar) on one link.

    With ``inline``, the browser runs the page's script (web/static/form.js): it posts
    with the ``YJV-Inline`` header and gets the next page in the answer to its POST.
    """

    def __init__(self, client, path: str, *, inline: bool = False):
        self.client, self.path, self.inline = client, path, inline
        self.html = ""
        self.status = 0

    def open(self):
        """Load the link and remember the page."""
        r = self.client.get(self.path)
        self.html, self.status = r.get_data(as_text=True), r.status_code
        return r

    def post(self, *, fields: dict | None = None, **data):
        """Post the current page's form with extra fields; follow a redirect like a browser."""
        form = {**(hidden_fields(self.html) if fields is None else fields), **data}
        headers = {"YJV-Inline": "1"} if self.inline else {}
        r = self.client.post(self.path, data=form, headers=headers)
        if r.status_code == 303:
            assert not self.inline, "the script asked for the page itself, not a redirect"
            assert r.headers["Location"] == self.path
            self.open()
        else:
            self.html, self.status = r.get_data(as_text=True), r.status_code
        return r

    def tap(self, label: str):
        """Press the button with this label."""
        for name, value, text in form_of(self.html).buttons:
            if text.strip() == label:
                return self.post(**{name: value} if name else {})
        raise AssertionError(f"no button {label!r} on the page: {self.buttons()}")

    def answer(self, text: str):
        """Type an answer and press Send."""
        return self.post(answer=text)

    def command(self, name: str):
        """Press skip, back, help or stop."""
        return self.post(command=name)

    def buttons(self) -> list[str]:
        """Return the labels of the page's buttons."""
        return [text.strip() for _, _, text in form_of(self.html).buttons]

    @property
    def question(self) -> str | None:
        """Return the id (or page marker) the current page answers."""
        return hidden_fields(self.html).get("question")

    @property
    def text(self) -> str:
        """Return the page's visible text, unescaped, whitespace collapsed."""
        body = re.sub(r"<[^>]+>", " ", self.html)
        return " ".join(html.unescape(body).split())

    def start(self):
        """Open the link and agree on the consent page."""
        self.open()
        assert self.question == "@consent"
        self.tap(TEXTS.get("consent_yes", None))
        return self


def child(client, code, *, inline: bool = False):
    return Visitor(client, f"/r/{code}/child", inline=inline)


def answer_everything(v: Visitor) -> list[str]:
    """Answer each question (first option, or some words) until the thank-you page."""
    asked = []
    for _ in range(60):
        qid = v.question
        if qid is None:
            return asked
        asked.append(qid)
        choices = [(n, val) for n, val, _ in form_of(v.html).buttons if n == "choice"]
        if choices:
            v.post(choice=choices[0][1])
        else:
            v.answer(f"my answer to {qid}")
        assert v.status == 200, v.text
    raise AssertionError("the survey never finished")


# --- journeys -------------------------------------------------------------------------


def test_child_journey_by_fixed_link_ends_with_thanks_and_withdrawal_code(rt, open_round, client):
    v = child(client, open_round)
    v.open()
    assert v.status == 200
    assert TEXTS.get("welcome", "child", title="Test round") in v.text
    assert "You can skip any question" in v.text
    assert "Who are you?" not in v.text  # the link fixed the audience
    v.tap("OK, let's start")
    assert v.question == "policing.opinion"
    assert "Question 1 of" in v.text and "<progress" in v.html
    assert 'for="answer"' in v.html  # the text box has a real label

    asked = answer_everything(v)

    assert asked[0] == "policing.opinion" and asked[-1] == "general.anything_else"
    assert "remands.experience" in asked  # screened in by answering "yes"
    with rt.transaction() as s:
        resp = s.query(Respondent).one()
        expected_code = store.withdrawal_code(rt.settings.secret_key, resp.id)
        assert resp.audience == "child" and resp.channel == "web"
        assert resp.completed_at is not None
    assert expected_code in v.text
    assert "Thank you" in v.text
    assert DANGER in v.text
    assert [q for q, _ in live_answers(rt)] == asked


def test_journey_with_the_page_script_takes_one_request_per_answer(rt, open_round, app):
    plain, scripted = (
        child(app.test_client(), open_round),
        child(app.test_client(), open_round, inline=True),
    )
    asked = {}
    for v in (plain, scripted):
        v.start()
        asked[v.inline] = answer_everything(v)  # inline: every POST answered 200, no 303
        assert "Thank you" in v.text and DANGER in v.text
    assert asked[True] == asked[False]
    with rt.transaction() as s:
        rows = s.query(Respondent.id).filter(Respondent.completed_at.isnot(None)).all()
    assert len(rows) == 2
    answers = live_answers(rt)
    assert len(answers) == 2 * len(asked[True])


@pytest.mark.backends("sqlite", "postgres")  # storage: stored once
def test_page_script_double_post_stores_once_and_shows_the_next_page(rt, open_round, client):
    v = child(client, open_round, inline=True).start()
    fields = {**hidden_fields(v.html), "answer": "they were ok"}
    first = client.post(v.path, data=fields, headers={"YJV-Inline": "1"})
    again = client.post(v.path, data=fields, headers={"YJV-Inline": "1"})
    assert first.status_code == again.status_code == 200
    for r in (first, again):
        assert hidden_fields(r.get_data(as_text=True))["question"] == "policing.stop_search"
    assert count(rt, Answer) == 1


def test_page_script_gets_notices_and_errors_on_the_page_it_is_sent(open_round, client):
    v = child(client, open_round, inline=True).start()
    v.answer("")
    assert v.status == 422 and TEXTS.get("empty_answer", "child") in v.text
    v.command("stop")
    v.tap("Carry on")
    assert v.status == 200 and v.question == "policing.opinion"
    assert TEXTS.get("resumed", "child").splitlines()[0] in v.text


def test_chooser_link_asks_who_you_are_first(rt, open_round, client):
    v = Visitor(client, f"/r/{open_round}")
    v.open()
    assert "Who are you?" in v.text
    assert v.buttons()[:4] == [TEXTS.label(a) for a in ("child", "parent", "staff", "partner")]
    v.tap("I'm a parent or carer")
    assert v.question == "@consent"
    assert "Back" in v.buttons()  # the audience was chosen here, so it can be changed
    v.command("back")
    assert "Who are you?" in v.text
    v.tap("I'm a young person")
    v.tap("OK, let's start")
    assert "What do you think of the police round here?" in v.text


def test_parent_wording_differs_from_child_wording(open_round, app):
    kid = child(app.test_client(), open_round).start()
    parent = Visitor(app.test_client(), f"/r/{open_round}/parent").start()
    assert kid.question == parent.question == "policing.opinion"
    assert "What do you think of the police round here?" in kid.text
    assert "how the police treat young people where you live" in parent.text
    assert "how the police treat young people" not in kid.text
    assert "We want to hear from parents and carers" not in kid.text


@pytest.mark.backends("sqlite", "postgres")  # storage: stored once
def test_double_posted_submit_stores_once(rt, open_round, client):
    v = child(client, open_round).start()
    fields = {**hidden_fields(v.html), "answer": "they were ok"}
    first = client.post(v.path, data=fields)
    again = client.post(v.path, data=fields)
    assert first.status_code == again.status_code == 303
    assert count(rt, Answer) == 1
    assert count(rt, Inbound, key=f"web:{fields['submission']}") == 1
    v.open()
    assert v.question == "policing.stop_search"  # moved on once, not twice


@pytest.mark.backends("sqlite", "postgres")  # storage: stored once, under concurrency
def test_simultaneous_double_submit_stores_once(rt, open_round, app):
    phone = app.test_client()
    v = child(phone, open_round).start()
    fields = {**hidden_fields(v.html), "answer": "pressed twice at once"}
    tabs = [app.test_client() for _ in range(2)]
    for tab in tabs:  # the same browser: the same cookies
        for name in ("yjv_session", "yjv_child"):
            path = "/" if name == "yjv_session" else f"/r/{open_round}"
            tab.set_cookie(name, phone.get_cookie(name, path=path).value, path=path)
    barrier = threading.Barrier(len(tabs))
    statuses = []

    def press(tab):
        barrier.wait()
        statuses.append(tab.post(v.path, data=fields).status_code)

    threads = [threading.Thread(target=press, args=(tab,)) for tab in tabs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303, 303]
    assert live_answers(rt) == [("policing.opinion", "pressed twice at once")]
    v.open()
    assert v.question == "policing.stop_search"


def test_each_page_gets_a_fresh_submission_id(open_round, client):
    v = child(client, open_round)
    v.open()
    first = hidden_fields(v.html)["submission"]
    v.open()
    assert hidden_fields(v.html)["submission"] != first
    uuid.UUID(first)


def test_resume_from_cookie_in_a_new_browser_session(rt, open_round, app):
    browser = app.test_client()
    v = child(browser, open_round).start()
    v.answer("fine")
    v.tap("No")
    assert v.question == "policing.stay_out_of_trouble"
    cookie = browser.get_cookie("yjv_child", path=f"/r/{open_round}")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.expires is not None  # survives closing the browser

    later = app.test_client()  # the browser was closed: only the long-lived cookie is left
    later.set_cookie("yjv_child", cookie.value, path=f"/r/{open_round}")
    back = child(later, open_round)
    back.open()
    assert back.question == "policing.stay_out_of_trouble"
    assert "Question 3 of" in back.text
    with rt.transaction() as s:
        (resume_key,) = s.query(Respondent.resume_key).one()
    assert resume_key == store.token_hash(cookie.value) != cookie.value  # only the hash kept

    stranger = child(app.test_client(), open_round)
    stranger.open()
    assert stranger.question == "@consent"  # no cookie: a new, separate respondent
    assert count(rt, Respondent) == 2


def test_head_request_starts_nobody(rt, open_round, client):
    assert client.head(f"/r/{open_round}/child").status_code == 200
    assert count(rt, Respondent) == 0


def test_back_changes_the_previous_answer(rt, open_round, client):
    v = child(client, open_round).start()
    assert "Back" not in v.buttons()  # nothing to go back to on the first question
    v.answer("they were ok")
    v.tap("Yes")
    assert v.question == "policing.stop_search_rating"
    v.command("back")
    assert v.question == "policing.stop_search"
    assert "OK, let's go back." in v.text
    v.tap("No")
    assert v.question == "policing.stay_out_of_trouble"
    assert live_answers(rt) == [
        ("policing.opinion", "they were ok"),
        ("policing.stop_search", "No"),
    ]


def test_skip_moves_on_and_stores_nothing(rt, open_round, client):
    v = child(client, open_round).start()
    v.post(answer="typed but skipped", command="skip")
    assert v.question == "policing.stop_search"
    assert "Question 2 of" in v.text
    assert count(rt, Answer) == 0


def test_help_explains_and_stays_on_the_question(open_round, client):
    v = child(client, open_round).start()
    v.answer("ok")
    v.tap("Yes")
    v.command("back")
    v.open()  # a notice shows once
    assert "OK, let's go back." not in v.text
    v.command("help")
    assert v.question == "policing.stop_search"
    assert CHILD_HELP_FIRST_LINE in v.text
    assert v.text.count(DANGER) == 1  # in the footer, not repeated in the notice


def test_question_help_line_is_shown(open_round, client):
    v = child(client, open_round).start()
    while v.question != "education.excluded":
        v.command("skip")
    assert "Excluded means the school sent you home or made you leave." in v.text


def test_stop_then_carry_on(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("ok")
    v.command("stop")
    assert TEXTS.get("stopped", "child") in v.text
    assert v.buttons() == ["Carry on"]
    v.open()  # coming back later shows the same paused page
    assert TEXTS.get("stopped", "child") in v.text
    v.tap("Carry on")
    assert TEXTS.get("resumed", "child") in v.text
    assert v.question == "policing.stop_search"
    assert count(rt, Answer) == 1


@pytest.mark.backends("sqlite", "postgres")  # storage: kept
def test_answer_from_a_page_left_open_after_stop_is_kept(rt, open_round, app):
    phone = app.test_client()
    v = child(phone, open_round).start()
    other_tab = {**hidden_fields(v.html), "submission": str(uuid.uuid4())}
    v.command("stop")
    v.post(fields=other_tab, answer="still counts")
    assert v.question == "policing.stop_search"
    assert live_answers(rt) == [("policing.opinion", "still counts")]


def test_saying_no_on_consent_stores_nothing_and_can_change_mind(rt, open_round, client):
    v = child(client, open_round)
    v.open()
    v.tap("No thanks")
    assert TEXTS.get("declined", "child") in v.text
    v.tap("Carry on")
    assert v.question == "@consent"
    assert count(rt, Answer) == 0


# --- bad input ------------------------------------------------------------------------


def test_ten_thousand_character_answer_is_refused_kindly_and_kept(rt, open_round, client):
    v = child(client, open_round).start()
    long = "word " * 2000
    v.answer(long)
    assert v.status == 422
    assert "Please keep it shorter than 2,000 letters" in v.text
    assert long.strip() in html.unescape(v.html)  # what they typed is still in the box
    assert 'aria-invalid="true"' in v.html
    assert v.question == "policing.opinion"
    assert count(rt, Answer) == 0


@pytest.mark.backends("sqlite", "postgres")  # storage: stored as given
def test_ten_thousand_emoji_reach_the_engine_not_a_413(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("😀" * 10_000)
    assert v.status == 422
    assert "shorter than 2,000" in v.text
    assert count(rt, Answer) == 0


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("bad\x00 \x07things\x1b happened\x7f", "bad things happened"),
        ("الشرطة كانت لطيفة", "الشرطة كانت لطيفة"),
        ("mixed ‏RTL‏ \u202eoverride", "mixed ‏RTL‏ \u202eoverride"),
        ("😡👮‍♂️🙄 not fair", "😡👮‍♂️🙄 not fair"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("\"quotes\" & 'ticks' {{ 7*7 }}", "\"quotes\" & 'ticks' {{ 7*7 }}"),
    ],
    ids=["control-chars", "arabic", "bidi-marks", "emoji", "script-tag", "template-ish"],
)
@pytest.mark.backends("sqlite", "postgres")  # storage: stored as given
def test_odd_text_is_stored_as_given_and_shown_escaped(rt, open_round, client, typed, stored):
    v = child(client, open_round).start()
    v.answer(typed)
    assert v.status == 200
    assert live_answers(rt) == [("policing.opinion", stored)]
    v.tap("Yes")
    v.command("back")  # show the page again, with their answer notice-free
    assert "<script>alert" not in v.html


def test_script_in_a_refused_answer_is_escaped_on_the_page(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("<script>alert(1)</script>" + "x" * 2100)
    assert v.status == 422
    assert "<script>alert(1)</script>" not in v.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in v.html
    assert "{{" not in v.html


def test_empty_answer_gets_a_clear_message(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("   \n\t ")
    assert v.status == 422
    assert TEXTS.get("empty_answer", "child") in v.text
    v.post()  # no answer field at all
    assert v.status == 422
    assert count(rt, Answer) == 0


def test_a_choice_that_is_not_offered_is_refused(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("ok")
    v.post(choice="maybe")
    assert v.status == 422
    assert TEXTS.get("pick_one", "child") in v.text
    assert v.question == "policing.stop_search"
    assert count(rt, Answer) == 1


def test_an_answer_to_a_question_not_asked_is_refused_by_the_engine(rt, open_round, client):
    v = child(client, open_round).start()
    v.post(question="policing.stop_search", choice="yes")  # not asked yet
    assert v.status == 422
    assert TEXTS.get("stale", "child") in v.text
    assert v.question == "policing.opinion"
    v.post(question="education.excluded", command="skip")  # skip must not skip elsewhere
    assert v.status == 422 and v.question == "policing.opinion"
    assert count(rt, Answer) == 0


def test_an_old_consent_page_does_not_answer_a_question(rt, open_round, client):
    v = child(client, open_round).start()
    v.answer("ok")
    assert v.question == "policing.stop_search"  # a yes/no question: "yes" would fit
    v.post(question="@consent", choice="yes")
    assert v.status == 422
    assert TEXTS.get("stale", "child") in v.text
    assert count(rt, Answer) == 1


def test_form_without_csrf_token_is_refused_and_nothing_stored(rt, open_round, client):
    v = child(client, open_round).start()
    fields = {k: val for k, val in hidden_fields(v.html).items() if k != "csrf_token"}
    inbound_before = count(rt, Inbound)
    v.post(fields=fields, answer="sneaky")
    assert v.status == 400
    assert "Nothing was saved" in v.text
    assert f'href="/r/{open_round}/child"' in v.html  # a way back in
    assert count(rt, Answer) == 0 and count(rt, Inbound) == inbound_before


def test_forged_csrf_token_is_refused(rt, open_round, client):
    v = child(client, open_round).start()
    v.post(csrf_token="forged", answer="sneaky")
    assert v.status == 400
    assert count(rt, Answer) == 0


def test_csrf_token_from_another_browser_is_refused(rt, open_round, app):
    mine = child(app.test_client(), open_round).start()
    theirs = child(app.test_client(), open_round).start()
    theirs.post(csrf_token=hidden_fields(mine.html)["csrf_token"], answer="cross")
    assert theirs.status == 400
    assert count(rt, Answer) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"submission": None},
        {"submission": "not-a-uuid"},
        {"submission": "'; DROP TABLE answers; --"},
        {"question": None},
        {"question": "q" * 500},
        {"command": "delete"},
        {"choice": "x" * 500},
        {"submission": [str(uuid.uuid4()), str(uuid.uuid4())]},
        {"choice": ["yes", "no"]},
    ],
    ids=[
        "no-submission",
        "bad-submission",
        "sql-submission",
        "no-question",
        "long-question",
        "unknown-command",
        "long-choice",
        "two-submissions",
        "two-choices",
    ],
)
def test_malformed_form_gets_a_clear_400_and_stores_nothing(rt, open_round, client, change):
    v = child(client, open_round).start()
    fields = hidden_fields(v.html)
    for name, value in change.items():
        if value is None:
            fields.pop(name)
        else:
            fields[name] = value
    inbound_before = count(rt, Inbound)
    r = client.post(v.path, data={**fields, "answer": "hello"})
    assert r.status_code == 400
    assert "nothing was saved" in r.get_data(as_text=True)
    assert count(rt, Answer) == 0 and count(rt, Inbound) == inbound_before
    v.open()
    assert v.question == "policing.opinion"  # the conversation is where it was


def test_post_without_resume_cookie_asks_to_open_the_link_again(rt, open_round, client):
    v = child(client, open_round).start()
    client.delete_cookie("yjv_child", path=f"/r/{open_round}")
    v.answer("lost")
    assert v.status == 400
    assert "open your link again" in v.text
    assert count(rt, Answer) == 0


def test_too_big_a_request_gets_a_friendly_413(open_round, client):
    v = child(client, open_round).start()
    v.answer("x" * 400_000)
    assert v.status == 413
    assert "That was too long" in v.text and "Traceback" not in v.html


def test_wrong_method_gets_a_friendly_405(open_round, client):
    r = client.put(f"/r/{open_round}")
    assert r.status_code == 405
    assert "Something went wrong" in r.get_data(as_text=True)


# --- rounds that cannot be answered -----------------------------------------------------


def test_unknown_round_gets_a_friendly_404(rt, client):
    for path in ("/r/NOSUCH", "/r/NOSUCH/child", "/r/" + "A" * 300):
        r = client.get(path)
        assert r.status_code == 404
        assert TEXTS.get("unknown_round", None) in html.unescape(r.get_data(as_text=True))
    assert count(rt, Respondent) == 0


def test_unknown_audience_in_a_link_is_a_404(open_round, client):
    assert client.get(f"/r/{open_round}/teacher").status_code == 404


def test_audience_not_in_the_round_falls_back_to_the_chooser(rt, client):
    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Parents", priorities=["policing"], audiences=["parent", "staff"]
        ).code
    r = client.get(f"/r/{code}/child")
    assert r.status_code == 303 and r.headers["Location"] == f"/r/{code}"


def test_code_in_lower_case_redirects_to_the_real_link(open_round, client):
    r = client.get(f"/r/{open_round.lower()}/child")
    assert r.status_code == 302 and r.headers["Location"] == f"/r/{open_round}/child"


def test_closed_round_gets_a_friendly_410_and_takes_no_answers(rt, open_round, client):
    v = child(client, open_round).start()
    page = v.html
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    v.post(fields=hidden_fields(page), answer="too late")
    assert v.status == 410
    # Someone part-way through still gets their code to take back what they gave.
    with rt.transaction() as s:
        resp = s.query(Respondent).one()
        code = store.withdrawal_code(rt.settings.secret_key, resp.id)
    assert "this survey is closed now" in v.text and code in v.text
    assert count(rt, Answer) == 0
    stranger = client.application.test_client()  # a browser without the cookie
    res = stranger.get(f"/r/{open_round}/child")
    assert res.status_code == 410
    assert TEXTS.get("closed", None) in res.get_data(as_text=True)


def test_round_past_its_closing_date_is_closed(rt, open_round, client):
    with rt.transaction() as s:
        s.execute(
            update(Round)
            .where(Round.code == open_round)
            .values(closes_on=date.today() - timedelta(days=1))
        )
    assert child(client, open_round).open().status_code == 410


def test_draft_round_gets_a_403(rt, client):
    with rt.transaction() as s:
        code = store.open_round(
            s,
            rt.catalogue,
            title="Draft",
            priorities=["policing"],
            audiences=["child"],
            status="draft",
        ).code
    r = client.get(f"/r/{code}")
    assert r.status_code == 403
    assert TEXTS.get("not_open_yet", None) in html.unescape(r.get_data(as_text=True))
    assert count(rt, Respondent) == 0


# --- the app around the form ------------------------------------------------------------


def _every_page_type(rt, open_round, client) -> dict[str, str]:
    pages = {"index": client.get("/").get_data(as_text=True)}
    chooser = Visitor(client, f"/r/{open_round}")
    chooser.open()
    pages["chooser"] = chooser.html
    v = child(client, open_round)
    v.open()
    pages["consent"] = v.html
    v.tap("OK, let's start")
    pages["text-question"] = v.html
    v.answer("")
    pages["error"] = v.html
    v.answer("ok")
    pages["choice-question"] = v.html
    v.command("help")
    pages["help"] = v.html
    v.command("stop")
    pages["paused"] = v.html
    v.tap("Carry on")
    answer_everything(v)
    pages["done"] = v.html
    pages["not-found"] = client.get("/r/NOSUCH").get_data(as_text=True)
    pages["csrf"] = client.post(v.path, data={}).get_data(as_text=True)
    return pages


def test_no_page_has_inline_script_or_style(rt, open_round, client):
    for name, page in _every_page_type(rt, open_round, client).items():
        # Only our own script files: the question pages load form.js, nothing else.
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
        tags = re.findall(r"<script\b[^>]*>", page)
        assert all(body == "" for body in scripts), name
        assert all(re.fullmatch(r'<script src="/static/form\.js" defer>', t) for t in tags), name
        assert "<style" not in page, name
        assert not re.search(r"\sstyle=", page), name
        assert not re.search(r"\son[a-z]+=", page), name
        assert DANGER.split(".")[0] in html.unescape(page), name  # the danger line, always


@pytest.mark.parametrize("path", ["/", "/r/NOSUCH", "/healthz", "/static/site.css"])
def test_security_headers_on_every_response(open_round, client, path):
    r = client.get(path)
    r.close()
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_respondent_pages_are_not_cached_and_cookies_are_strict(open_round, client):
    r = client.get(f"/r/{open_round}/child")
    assert r.headers["Cache-Control"] == "no-store"
    cookies = r.headers.getlist("Set-Cookie")
    assert cookies and all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies)
    assert any(c.startswith("yjv_child=") and f"Path=/r/{open_round}" in c for c in cookies)


def test_production_marks_cookies_secure(rt, open_round, db_url, tmp_path):
    from tests.conftest import make_settings

    prod = create_app({"YJV_SETTINGS": make_settings(tmp_path, db_url, production=True)})
    r = prod.test_client().get(f"/r/{open_round}/child")
    assert all("Secure" in c for c in r.headers.getlist("Set-Cookie"))
    assert "max-age" in r.headers["Strict-Transport-Security"]
    prod.extensions["yjvoice"].database.dispose()


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_healthz_says_ok_when_the_database_answers(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_data(as_text=True).strip() == "ok"


@pytest.mark.backends("sqlite", "postgres")  # storage: rolled back
def test_unexpected_error_shows_a_plain_500_page_and_rolls_back(rt, db_url, tmp_path):
    from tests.conftest import make_settings
    from web import db

    app = create_app({"YJV_SETTINGS": make_settings(tmp_path, db_url)})

    def boom():
        db().add(Respondent(id="x" * 32, round_id=1, channel="web", withdraw_hash="h", state={}))
        raise RuntimeError("secret answer text")

    app.add_url_rule("/boom", "boom", boom)
    r = app.test_client().get("/boom")
    body = r.get_data(as_text=True)
    assert r.status_code == 500
    assert "Sorry, something went wrong" in body
    assert "Traceback" not in body and "secret answer text" not in body
    assert count(rt, Respondent) == 0
    app.extensions["yjvoice"].database.dispose()


def test_logs_carry_ids_never_answer_text(open_round, client, caplog):
    caplog.set_level(logging.DEBUG)
    v = child(client, open_round).start()
    v.answer("my secret words about the police")
    v.answer("x" * 3000 + " refused secret")
    assert v.status == 422
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "respondent=" in logged
    assert "secret" not in logged
