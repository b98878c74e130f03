"""Every /admin route needs sign-in and the right role; sign-in itself is hardened."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import Rule

from surveys.storage.models import User
from tests.web.conftest import ROLES, STAFF_PASSWORD, hidden_fields, sign_in

OPEN_ADMIN_ENDPOINTS = {"admin.login", "static"}
#: Values for URL parameters; areas of the workbench add theirs.
SAMPLE_ARGS = {"code": "{round}", "int": "1", "default": "1"}


def admin_rules(app) -> list[Rule]:
    return [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/admin") and r.endpoint not in OPEN_ADMIN_ENDPOINTS
    ]


def url_for_rule(rule: Rule, round_code: str) -> str:
    def fill(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        if name == "code":
            return round_code
        return SAMPLE_ARGS.get(converter or "default", "1")

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


def method_of(rule: Rule) -> str:
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]


def test_every_admin_route_declares_its_roles(app):
    for rule in admin_rules(app):
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "allowed_roles", None), f"{rule.rule} has no roles_required"


def test_every_admin_route_refuses_anonymous_visitors(app, client, open_round):
    for rule in admin_rules(app):
        url = url_for_rule(rule, open_round)
        res = client.open(url, method=method_of(rule))
        assert res.status_code in (302, 400, 401), (rule.rule, res.status_code)
        if res.status_code == 302:
            assert "/admin/login" in res.headers["Location"], rule.rule


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_route_refuses_roles_it_does_not_allow(app, as_role, role, open_round):
    client = as_role(role)
    for rule in admin_rules(app):
        view = app.view_functions[rule.endpoint]
        if role in view.allowed_roles or rule.endpoint == "admin.logout":
            continue
        res = client.open(url_for_rule(rule, open_round), method=method_of(rule))
        assert res.status_code == 403, (role, rule.rule, res.status_code)


def post_rules(app) -> list[Rule]:
    return [r for r in admin_rules(app) if "POST" in r.methods]


@pytest.mark.parametrize("role", ROLES)
def test_a_post_checks_the_role_before_the_csrf_token(app, as_role, role, open_round):
    client = as_role(role)
    for rule in post_rules(app):
        allowed = app.view_functions[rule.endpoint].allowed_roles
        res = client.post(url_for_rule(rule, open_round), data={"action": "close"})
        expected = 400 if role in allowed else 403
        assert res.status_code == expected, (role, rule.rule, res.status_code)


def test_a_post_without_its_csrf_token_changes_nothing(as_role, open_round, rt):
    from surveys.storage import store

    res = as_role("lead").post(f"/admin/rounds/{open_round}/status", data={"action": "close"})
    assert res.status_code == 400
    with rt.transaction() as s:
        assert store.get_round(s, open_round).status == "open"


def test_admin_pages_are_not_cached(as_role):
    res = as_role("lead").get("/admin/")
    assert res.status_code == 200
    assert res.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in res.headers["Content-Security-Policy"]


def test_sign_in_without_csrf_token_is_refused(client, staff):
    res = client.post("/admin/login", data={"email": staff["lead"], "password": STAFF_PASSWORD})
    assert res.status_code == 400


def test_wrong_password_is_refused_without_saying_which_part(client, staff):
    res = sign_in(client, staff["lead"], "wrong password here")
    body = res.get_data(as_text=True)
    assert res.status_code == 401 and "do not match" in body
    unknown = sign_in(client, "nobody@yjs.example.org", "wrong password here")
    assert unknown.status_code == 401 and "do not match" in unknown.get_data(as_text=True)


def test_repeated_failures_refuse_that_address_and_slow_the_account(app, client, staff, rt):
    for _ in range(5):
        assert sign_in(client, staff["reviewer"], "not the password!").status_code == 401
    # The address that failed is refused, right password or not.
    assert sign_in(client, staff["reviewer"]).status_code == 401
    with rt.transaction() as s:
        user = s.query(User).filter_by(email=staff["reviewer"]).one()
        assert user.locked_until is not None  # slowed down: the next try waits a second
        user.locked_until = user.locked_until.replace(year=2000)  # that second has passed
    # The owner, elsewhere, signs in.
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(owner, staff["reviewer"]).status_code == 302


def test_a_browser_that_signed_in_before_is_never_slowed_down(app, staff, rt):
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert sign_in(owner, staff["reviewer"]).status_code == 302
    token = hidden_fields(owner.get("/admin/").get_data(as_text=True))["csrf_token"]
    owner.post("/admin/logout", data={"csrf_token": token})
    attacker = app.test_client()
    for i in range(10):  # from many addresses: the account slows down
        attacker.environ_base["REMOTE_ADDR"] = f"203.0.113.{i}"
        sign_in(attacker, staff["reviewer"], "not the password!")
    with rt.transaction() as s:
        assert s.query(User).filter_by(email=staff["reviewer"]).one().locked_until is not None
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert sign_in(fresh, staff["reviewer"]).status_code == 401  # a new browser waits
    assert sign_in(owner, staff["reviewer"]).status_code == 302  # the known one does not


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_session_is_rotated_at_sign_in_and_ended_by_sign_out(app, staff):
    client = app.test_client()
    client.get("/admin/login")
    before = client.get_cookie("yjv_session")
    assert sign_in(client, staff["lead"]).status_code == 302
    after = client.get_cookie("yjv_session")
    assert before is None or before.value != after.value
    stolen = after.value
    token = hidden_fields(client.get("/admin/").get_data(as_text=True))["csrf_token"]
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("yjv_session", stolen)
    assert thief.get("/admin/").status_code == 302  # the old cookie no longer works


def test_idle_session_times_out(app, staff):
    from datetime import timedelta

    app.config["ADMIN_IDLE_TIMEOUT"] = timedelta(seconds=-1)
    client = app.test_client()
    sign_in(client, staff["lead"])
    res = client.get("/admin/")
    assert res.status_code == 302 and "/admin/login" in res.headers["Location"]


def test_next_parameter_cannot_redirect_off_site(client, staff):
    page = client.get("/admin/login?next=//evil.example.com/")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    res = client.post(
        "/admin/login?next=//evil.example.com/",
        data={"csrf_token": token, "email": staff["lead"], "password": STAFF_PASSWORD},
    )
    assert res.status_code == 302 and "evil" not in res.headers["Location"]
