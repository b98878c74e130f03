"""/r/withdraw: code, "are you sure?", deleted; CSRF; a wrong code and a used code get the
same page; attempts are throttled per address with a friendly 429. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from surveys.core import engine
from surveys.services import conversation
from surveys.storage import store
from surveys.storage.models import Answer, AuditEvent, Respondent
from tests.web.conftest import count, hidden_fields


def _respondent(rt, code, text="the police were fair with me"):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="child")
        rid = resp.id
    for key, kw in (("a", {"choice": "yes"}), ("b", {"text": text})):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, engine.Inbound(**kw), key=f"{rid}{key}")
    return rid, store.withdrawal_code(rt.settings.secret_key, rid)


def _post(client, page_html, **data):
    token = hidden_fields(page_html)["csrf_token"]
    return client.post("/r/withdraw", data={"csrf_token": token, **data})


def _check(client, code):
    page = client.get("/r/withdraw").get_data(as_text=True)
    return _post(client, page, step="check", code=code)


def test_withdraw_asks_for_the_code_then_confirms_then_deletes(rt, open_round, client):
    rid, code = _respondent(rt, open_round)
    form = client.get("/r/withdraw")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "Take back your answers" in html and 'name="code"' in html
    assert form.headers["Cache-Control"] == "no-store"

    sure = _check(client, code)
    assert sure.status_code == 200
    sure_html = sure.get_data(as_text=True)
    assert "This will delete your answers. Are you sure?" in sure_html.replace(
        "</h1>\n  <p>", " "
    ) or ("Are you sure?" in sure_html and "This will delete your answers" in sure_html)
    assert count(rt, Answer, respondent_id=rid) == 1  # nothing deleted before "yes"

    done = _post(client, sure_html, step="confirm", code=code)
    assert done.status_code == 303 and done.headers["Location"].endswith("/r/withdraw/done")
    assert "Your answers are deleted" in client.get("/r/withdraw/done").get_data(as_text=True)
    assert count(rt, Answer, respondent_id=rid) == 0
    assert count(rt, Respondent, id=rid) == 0
    with rt.transaction() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "withdrawal")).one()
        assert code not in repr(event.details) and event.details["channel"] == "web"


def test_wrong_code_and_used_code_get_the_same_page(rt, open_round, app, client):
    app.config["WITHDRAW_RATE_LIMIT"] = "100 per minute"
    _, code = _respondent(rt, open_round)
    sure = _check(client, code).get_data(as_text=True)
    _post(client, sure, step="confirm", code=code)

    def body(res, typed):
        assert res.status_code == 200
        html = res.get_data(as_text=True)
        return html.replace(typed, "CODE").replace(hidden_fields(html)["csrf_token"], "T")

    used = body(_check(client, code), code)
    wrong = body(_check(client, "WXYZ-2345"), "WXYZ-2345")
    malformed = body(_check(client, "!!!"), "!!!")
    assert used == wrong == malformed
    assert "could not find any answers for that code" in used
    # Confirming a used code directly says the same too.
    page = client.get("/r/withdraw").get_data(as_text=True)
    again = body(_post(client, page, step="confirm", code=code), code)
    assert again == used


def test_empty_code_asks_for_it(rt, client):
    res = _check(client, "   ")
    assert res.status_code == 200 and "Please type the code" in res.get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_deletes_nothing(rt, open_round, client):
    rid, code = _respondent(rt, open_round)
    client.get("/r/withdraw")
    res = client.post("/r/withdraw", data={"step": "confirm", "code": code})
    assert res.status_code == 400
    assert count(rt, Answer, respondent_id=rid) == 1
    res = client.post("/r/withdraw", data={"step": "confirm", "code": code, "csrf_token": "x"})
    assert res.status_code == 400
    assert count(rt, Respondent, id=rid) == 1


def test_attempts_are_throttled_with_a_friendly_page(rt, open_round, app, client):
    app.config["WITHDRAW_RATE_LIMIT"] = "3 per minute"
    rid, code = _respondent(rt, open_round)
    page = client.get("/r/withdraw").get_data(as_text=True)
    for n in range(3):
        assert _post(client, page, step="check", code=f"WRNG-COD{n}").status_code == 200
    res = _post(client, page, step="confirm", code=code)
    assert res.status_code == 429
    html = res.get_data(as_text=True)
    assert "Please wait a little" in html and "try again" in html
    assert count(rt, Respondent, id=rid) == 1  # the throttled attempt did nothing
    # Another address is not held up by this one; GET is never throttled.
    other = app.test_client()
    assert other.get("/r/withdraw").status_code == 200
    assert client.get("/r/withdraw").status_code == 200
    res = other.post(
        "/r/withdraw",
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
        data={
            "csrf_token": hidden_fields(other.get("/r/withdraw").get_data(as_text=True))[
                "csrf_token"
            ],
            "step": "check",
            "code": code,
        },
    )
    assert res.status_code == 200


def test_default_limit_is_five_a_minute(rt, client):
    page = client.get("/r/withdraw").get_data(as_text=True)
    statuses = [_post(client, page, step="check", code="ABCD-EFGH").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_thank_you_page_and_footer_link_to_withdrawal(rt, open_round, client):
    from tests.web.test_public import answer_everything, child

    assert 'href="/r/withdraw"' in client.get("/").get_data(as_text=True)  # the footer
    v = child(client, open_round)
    v.open()
    v.tap("OK, let's start")
    answer_everything(v)
    assert "Thank you" in v.text
    assert v.html.count('href="/r/withdraw"') == 2  # next to the code, and the footer
