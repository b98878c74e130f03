"""User management in the workbench: who may do it, the rules it keeps, sign-in throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from surveys.services import accounts
from surveys.storage.models import User
from tests.web.conftest import ROLES, STAFF_PASSWORD, hidden_fields, sign_in

GOOD = "kettle orbit lantern pebble"
OTHER_GOOD = "violet tractor summit ladle"


def token(client) -> str:
    """Return a CSRF token from a page every signed-in role can open."""
    return hidden_fields(client.get("/admin/account/password").get_data(as_text=True))["csrf_token"]


def user_id(rt, email) -> int:
    with rt.transaction() as s:
        return accounts.find_user(s, email).id


def user_row(rt, email) -> User:
    with rt.transaction() as s:
        user = accounts.find_user(s, email)
        s.expunge(user)
        return user


# --- who may open what ------------------------------------------------------------------

LEAD_ONLY_GETS = ["/admin/users", "/admin/users/new", "/admin/users/{id}"]


@pytest.mark.parametrize("role", ROLES)
def test_user_pages_open_for_the_lead_only(as_role, rt, staff, role):
    client = as_role(role)
    uid = user_id(rt, staff["viewer"])
    for path in LEAD_ONLY_GETS:
        res = client.get(path.format(id=uid))
        assert res.status_code == (200 if role == "lead" else 403), (role, path)


@pytest.mark.parametrize("role", ["reviewer", "safeguarding", "viewer"])
def test_user_changes_are_refused_for_other_roles_even_with_a_token(as_role, rt, staff, role):
    client = as_role(role)
    t = token(client)
    uid = user_id(rt, staff["lead"])
    assert (
        client.post(
            "/admin/users/new",
            data={"csrf_token": t, "email": "x@y.org", "role": "lead", "password": GOOD},
        ).status_code
        == 403
    )
    for action in ("role", "disable", "password", "unlock"):
        res = client.post(
            f"/admin/users/{uid}",
            data={"csrf_token": t, "action": action, "role": role, "password": GOOD},
        )
        assert res.status_code == 403, action
    lead = user_row(rt, staff["lead"])
    assert lead.role == "lead" and lead.active
    with rt.transaction() as s:
        assert accounts.find_user(s, "x@y.org") is None


@pytest.mark.parametrize("role", ROLES)
def test_everyone_can_open_their_own_password_page(as_role, role):
    assert as_role(role).get("/admin/account/password").status_code == 200


def test_unknown_user_is_404(as_role):
    assert as_role("lead").get("/admin/users/99999").status_code == 404


def test_user_pages_need_sign_in(client):
    for path in ("/admin/users", "/admin/users/new", "/admin/users/1", "/admin/account/password"):
        res = client.get(path)
        assert res.status_code == 302 and "/admin/login" in res.headers["Location"]


@pytest.mark.parametrize(
    "path, data",
    [
        ("/admin/users/new", {"email": "new@yjs.example.org", "role": "viewer", "password": GOOD}),
        ("/admin/users/{id}", {"action": "disable"}),
        ("/admin/account/password", {"current": STAFF_PASSWORD, "new": GOOD, "confirm": GOOD}),
    ],
)
def test_changes_without_a_csrf_token_are_refused(as_role, rt, staff, path, data):
    client = as_role("lead")
    uid = user_id(rt, staff["viewer"])
    res = client.post(path.format(id=uid), data=data)
    assert res.status_code == 400
    assert user_row(rt, staff["viewer"]).active
    with rt.transaction() as s:
        assert accounts.find_user(s, "new@yjs.example.org") is None


# --- the lead manages accounts -----------------------------------------------------------


def test_lead_lists_users_with_roles_and_states(as_role, rt, staff):
    with rt.transaction() as s:
        accounts.find_user(s, staff["viewer"]).locked_until = datetime.now(UTC) + timedelta(
            minutes=10
        )
        accounts.find_user(s, staff["reviewer"]).active = False
    page = as_role("lead").get("/admin/users").get_data(as_text=True)
    for email in staff.values():
        assert email in page
    assert "locked" in page and "disabled" in page
    assert page.index(staff["lead"]) < page.index(staff["viewer"])  # leads first


def test_lead_adds_a_user_who_can_then_sign_in(app, as_role, rt):
    client = as_role("lead")
    res = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token(client),
            "email": "New.Person@YJS.example.org",
            "role": "reviewer",
            "password": GOOD,
        },
    )
    assert res.status_code == 302
    assert "Account added" in client.get("/admin/users").get_data(as_text=True)
    assert user_row(rt, "new.person@yjs.example.org").role == "reviewer"
    assert sign_in(app.test_client(), "new.person@yjs.example.org", GOOD).status_code == 302


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("a@yjs.example.org", "short", "at least 12 characters"),
        ("a@yjs.example.org", "password1234", "too easy to guess"),
        ("not-an-email", GOOD, "does not look like an email"),
        ("reviewer@yjs.example.org", GOOD, "already an account"),
    ],
)
def test_adding_a_user_explains_what_is_wrong(as_role, rt, email, password, message):
    client = as_role("lead")
    res = client.post(
        "/admin/users/new",
        data={"csrf_token": token(client), "email": email, "role": "viewer", "password": password},
    )
    body = res.get_data(as_text=True)
    assert res.status_code == 400 and message in body.replace("&#39;", "'")
    assert password not in body
    with rt.transaction() as s:
        assert len(accounts.list_users(s)) == 4


def test_lead_changes_a_role_and_the_change_applies_at_once(as_role, rt, staff):
    lead, viewer = as_role("lead"), as_role("viewer")
    assert viewer.get("/admin/users").status_code == 403
    uid = user_id(rt, staff["viewer"])
    res = lead.post(
        f"/admin/users/{uid}", data={"csrf_token": token(lead), "action": "role", "role": "lead"}
    )
    assert res.status_code == 302
    assert viewer.get("/admin/users").status_code == 200  # same session, new role


def test_disabling_ends_the_users_sessions_and_enabling_lets_them_back(app, as_role, rt, staff):
    lead, reviewer = as_role("lead"), as_role("reviewer")
    uid = user_id(rt, staff["reviewer"])
    lead.post(f"/admin/users/{uid}", data={"csrf_token": token(lead), "action": "disable"})
    assert reviewer.get("/admin/").status_code == 302  # signed out
    assert sign_in(app.test_client(), staff["reviewer"]).status_code == 401
    lead.post(f"/admin/users/{uid}", data={"csrf_token": token(lead), "action": "enable"})
    assert sign_in(app.test_client(), staff["reviewer"]).status_code == 302


def test_password_reset_by_the_lead_ends_sessions_and_unlocks(app, as_role, rt, staff):
    lead, reviewer = as_role("lead"), as_role("reviewer")
    with rt.transaction() as s:
        accounts.find_user(s, staff["reviewer"]).locked_until = datetime.now(UTC) + timedelta(
            minutes=10
        )
    uid = user_id(rt, staff["reviewer"])
    weak = lead.post(
        f"/admin/users/{uid}",
        data={"csrf_token": token(lead), "action": "password", "password": "short"},
    )
    assert weak.status_code == 400 and "12 characters" in weak.get_data(as_text=True)
    res = lead.post(
        f"/admin/users/{uid}",
        data={"csrf_token": token(lead), "action": "password", "password": GOOD},
    )
    assert res.status_code == 302
    assert reviewer.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), staff["reviewer"], GOOD).status_code == 302


def test_lead_unlocks_a_locked_account(app, as_role, rt, staff):
    for _ in range(accounts.MAX_FAILED_LOGINS):
        sign_in(app.test_client(), staff["viewer"], "wrong wrong wrong")
    assert sign_in(app.test_client(), staff["viewer"]).status_code == 401
    lead = as_role("lead")
    uid = user_id(rt, staff["viewer"])
    assert "Unlock now" in lead.get(f"/admin/users/{uid}").get_data(as_text=True)
    lead.post(f"/admin/users/{uid}", data={"csrf_token": token(lead), "action": "unlock"})
    assert sign_in(app.test_client(), staff["viewer"]).status_code == 302


def test_bad_action_is_refused(as_role, rt, staff):
    lead = as_role("lead")
    uid = user_id(rt, staff["viewer"])
    res = lead.post(f"/admin/users/{uid}", data={"csrf_token": token(lead), "action": "delete"})
    assert res.status_code == 400


# --- always one active lead -------------------------------------------------------------


@pytest.mark.parametrize("action, extra", [("role", {"role": "reviewer"}), ("disable", {})])
@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_the_only_lead_cannot_demote_or_disable_themselves(as_role, rt, staff, action, extra):
    lead = as_role("lead")
    uid = user_id(rt, staff["lead"])
    res = lead.post(
        f"/admin/users/{uid}", data={"csrf_token": token(lead), "action": action, **extra}
    )
    assert res.status_code == 400
    assert "at least one active lead" in res.get_data(as_text=True)
    row = user_row(rt, staff["lead"])
    assert row.role == "lead" and row.active
    assert lead.get("/admin/users").status_code == 200  # still signed in, still lead


def test_a_lead_can_step_down_once_another_lead_exists(as_role, rt, staff):
    lead = as_role("lead")
    other = user_id(rt, staff["reviewer"])
    lead.post(
        f"/admin/users/{other}", data={"csrf_token": token(lead), "action": "role", "role": "lead"}
    )
    me = user_id(rt, staff["lead"])
    res = lead.post(
        f"/admin/users/{me}", data={"csrf_token": token(lead), "action": "role", "role": "viewer"}
    )
    assert res.status_code == 302 and res.headers["Location"].endswith("/admin/")
    assert lead.get("/admin/users").status_code == 403


def test_lead_cannot_reset_their_own_password_from_the_user_page(as_role, rt, staff):
    lead = as_role("lead")
    me = user_id(rt, staff["lead"])
    res = lead.post(
        f"/admin/users/{me}",
        data={"csrf_token": token(lead), "action": "password", "password": GOOD},
    )
    assert res.status_code == 400 and "Your password" in res.get_data(as_text=True)


# --- your own password ------------------------------------------------------------------


def test_changing_your_password_keeps_this_session_and_ends_the_others(app, as_role, staff):
    here = as_role("reviewer")
    # Signing in ends older sessions, so "another session" is this one's cookie, copied
    # (another tab, or a stolen cookie): it must stop working while this tab carries on.
    elsewhere = app.test_client()
    elsewhere.set_cookie("yjv_session", here.get_cookie("yjv_session").value)
    assert elsewhere.get("/admin/").status_code == 200
    res = here.post(
        "/admin/account/password",
        data={"csrf_token": token(here), "current": STAFF_PASSWORD, "new": GOOD, "confirm": GOOD},
    )
    assert res.status_code == 302
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), staff["reviewer"], GOOD).status_code == 302
    assert sign_in(app.test_client(), staff["reviewer"]).status_code == 401


@pytest.mark.parametrize(
    "current, new, confirm, message",
    [
        ("not my password", GOOD, GOOD, "current password is not right"),
        (STAFF_PASSWORD, GOOD, OTHER_GOOD, "not the same"),
        (STAFF_PASSWORD, "short", "short", "at least 12 characters"),
        (STAFF_PASSWORD, "qwerty123456", "qwerty123456", "too easy to guess"),
        (STAFF_PASSWORD, "", "", "fill in all three"),
    ],
)
@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_password_change_explains_what_is_wrong(as_role, current, new, confirm, message):
    client = as_role("viewer")
    res = client.post(
        "/admin/account/password",
        data={"csrf_token": token(client), "current": current, "new": new, "confirm": confirm},
    )
    assert res.status_code == 400 and message in res.get_data(as_text=True)


# --- sign-in page and throttling ----------------------------------------------------------


def test_login_page_explains_the_lock_and_how_to_recover(client):
    from web.admin.signin import ACCOUNT_ADDRESS_LIMIT

    body = client.get("/admin/login").get_data(as_text=True)
    # The page states the numbers in words: change them together.
    assert (accounts.MAX_FAILED_LOGINS, accounts.MAX_DELAY_SECONDS) == (5, 60)
    assert ACCOUNT_ADDRESS_LIMIT == "5 per 15 minutes"
    assert "After 5 wrong tries from one place, that place cannot sign in" in body
    assert "for 15 minutes" in body and "up to a minute" in body
    assert "Ask your YJS lead" in body


def test_failed_sign_ins_are_throttled_per_address(app, staff):
    app.config["ADMIN_LOGIN_RATE_LIMIT"] = "3 per minute"
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    # Different accounts each time: no single account reaches its own lock.
    for role in ("reviewer", "viewer", "safeguarding"):
        assert sign_in(attacker, staff[role], "not the password!").status_code == 401
    res = sign_in(attacker, staff["lead"])  # even the right password waits now
    assert res.status_code == 429
    assert "Too many sign-in attempts" in res.get_data(as_text=True)
    assert attacker.get("/admin/login").status_code == 200  # the page itself still shows
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(other, staff["lead"]).status_code == 302


def test_successful_sign_ins_do_not_use_up_the_allowance(app, staff):
    app.config["ADMIN_LOGIN_RATE_LIMIT"] = "2 per minute"
    for _ in range(4):
        assert sign_in(app.test_client(), staff["lead"]).status_code == 302
