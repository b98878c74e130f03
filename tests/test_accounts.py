"""Account promises: strong passwords only, always an active lead, and the ``user`` commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner

from surveys.services import accounts
from surveys.storage.models import User
from tests.conftest import TEST_SECRET
from yjvoice.cli_admin import register

GOOD = "kettle orbit lantern pebble"
OTHER_GOOD = "violet tractor summit ladle"


# --- password rules (pure) --------------------------------------------------------------


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_short_passwords_are_refused_with_the_length_in_plain_words(password):
    assert "at least 12 characters" in accounts.password_problem(password)


@pytest.mark.parametrize(
    "password",
    [
        "leavemealone",  # in zxcvbn's list of common passwords as it is
        "QWERTY123456",  # the same, in capitals
        "qwerty 123456",  # the same, with a space
        "Password123!",  # a small variation on a common one
        "iloveyou12345",
        "1234567890123",
        "aaaaaaaaaaaaaaaa",  # repeats
        "qwertyuiopasdf",  # a keyboard walk
    ],
)
def test_common_and_easily_guessed_passwords_are_refused(password):
    problem = accounts.password_problem(password)
    assert problem is not None and problem.startswith("that password is too easy to guess")


def test_a_password_built_on_the_persons_email_is_refused():
    email = "jo.bloggs@yjs.example.org"
    assert accounts.password_problem("jo.bloggs@yjs.example.org1", [email]) is not None
    assert accounts.password_problem("JoBloggs2027!", [email]) is not None


@pytest.mark.parametrize(
    "password", [GOOD, "correct horse battery staple", "Tr0ub4dor&3-xylophone"]
)
def test_long_uncommon_passwords_are_accepted(password):
    assert accounts.password_problem(password, ["lead@yjs.example.org"]) is None


def test_overlong_passwords_are_refused_but_long_ones_are_scored_quickly():
    assert "at most" in accounts.password_problem("x" * (accounts.MAX_PASSWORD_LENGTH + 1))
    long_ok = " ".join(["kettle", "orbit", "lantern", "pebble"] * 12)[:200]
    assert accounts.password_problem(long_ok) is None


def test_an_unknown_email_is_checked_against_a_hash_of_the_production_cost():
    """Equal timing: the stored dummy hash has the parameters production hashes with."""
    from argon2 import PasswordHasher

    production = PasswordHasher()  # as accounts._hasher outside tests
    assert not production.check_needs_rehash(accounts._FULL_COST_DUMMY_HASH)
    assert production.verify(accounts._FULL_COST_DUMMY_HASH, accounts._DUMMY_PASSWORD)


def test_check_password_rules_raises_account_error():
    with pytest.raises(accounts.AccountError, match="12 characters"):
        accounts.check_password_rules("short")


# --- accounts on a real database ----------------------------------------------------------


def _make(rt, email, role="lead", password=GOOD):
    with rt.transaction() as s:
        return accounts.create_user(s, email, password, role).id


def test_create_user_refuses_duplicates_bad_roles_and_weak_passwords(rt):
    _make(rt, "Lead@YJS.example.org")
    with rt.transaction() as s:
        with pytest.raises(accounts.AccountError, match="already an account"):
            accounts.create_user(s, "lead@yjs.example.org", GOOD, "viewer")
        with pytest.raises(accounts.AccountError, match="role must be"):
            accounts.create_user(s, "x@yjs.example.org", GOOD, "admin")
        with pytest.raises(accounts.AccountError, match="too easy"):
            accounts.create_user(s, "y@yjs.example.org", "password1234", "viewer")
        assert [u.email for u in accounts.list_users(s)] == ["lead@yjs.example.org"]


def test_the_last_active_lead_cannot_be_demoted_or_disabled(rt):
    lead = _make(rt, "lead@yjs.example.org")
    with rt.transaction() as s:
        user = s.get(User, lead)
        with pytest.raises(accounts.LastLeadError, match="at least one active lead"):
            accounts.set_role(s, user, "viewer")
        with pytest.raises(accounts.LastLeadError):
            accounts.set_active(s, user, False)
        with pytest.raises(accounts.LastLeadError):
            accounts.upsert_user(s, "lead@yjs.example.org", GOOD, role="reviewer")
    with rt.transaction() as s:
        user = s.get(User, lead)
        assert user.role == "lead" and user.active


def test_a_disabled_lead_does_not_count_as_the_active_lead(rt):
    first = _make(rt, "one@yjs.example.org")
    second = _make(rt, "two@yjs.example.org")
    with rt.transaction() as s:
        accounts.set_active(s, s.get(User, second), False)  # fine: "one" is still a lead
    with rt.transaction() as s, pytest.raises(accounts.LastLeadError):
        accounts.set_role(s, s.get(User, first), "reviewer")
    with rt.transaction() as s:
        accounts.set_active(s, s.get(User, second), True)
        accounts.set_role(s, s.get(User, first), "reviewer")  # fine now
        assert s.get(User, first).role == "reviewer"


def test_disabling_and_new_passwords_end_every_session_and_lift_the_lock(rt):
    _make(rt, "lead@yjs.example.org")
    uid = _make(rt, "rev@yjs.example.org", role="reviewer")
    with rt.transaction() as s:
        user = s.get(User, uid)
        user.locked_until = datetime.now(UTC) + timedelta(minutes=10)
        before = user.session_version
        accounts.set_password(s, user, OTHER_GOOD)
        assert user.session_version == before + 1 and user.locked_until is None
        assert accounts.verify_password(user, OTHER_GOOD)
        accounts.set_active(s, user, False)
        assert user.session_version == before + 2
    with rt.transaction() as s:
        assert accounts.authenticate(s, "rev@yjs.example.org", OTHER_GOOD) is None  # disabled


def test_changing_your_own_password_needs_the_current_one(rt):
    uid = _make(rt, "lead@yjs.example.org")
    with rt.transaction() as s:
        user = s.get(User, uid)
        with pytest.raises(accounts.AccountError, match="current password is not right"):
            accounts.change_own_password(s, user, "not it at all", OTHER_GOOD)
        with pytest.raises(accounts.AccountError, match="different"):
            accounts.change_own_password(s, user, GOOD, GOOD)
        with pytest.raises(accounts.AccountError, match="12 characters"):
            accounts.change_own_password(s, user, GOOD, "short")
        accounts.change_own_password(s, user, GOOD, OTHER_GOOD)
    with rt.transaction() as s:
        assert accounts.authenticate(s, "lead@yjs.example.org", OTHER_GOOD) is not None


def test_unlock_lifts_the_lock_after_five_wrong_passwords(rt):
    uid = _make(rt, "lead@yjs.example.org")
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with rt.transaction() as s:
            assert accounts.authenticate(s, "lead@yjs.example.org", "wrong wrong wrong") is None
    with rt.transaction() as s:
        user = s.get(User, uid)
        assert accounts.is_locked(user)
        assert accounts.authenticate(s, "lead@yjs.example.org", GOOD) is None
        accounts.unlock(user)
    with rt.transaction() as s:
        assert accounts.authenticate(s, "lead@yjs.example.org", GOOD) is not None


# --- yjvoice user ... ---------------------------------------------------------------------


@click.group()
def _root() -> None:
    """A stand-in for the ``yjvoice`` group."""


register(_root)


@pytest.fixture
def cli(rt, db_url, tmp_path, monkeypatch):
    """Return a function running ``yjvoice user ARGS`` against the (migrated) test database."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path / "instance"))
    runner = CliRunner()

    def run(*args, input=None, ok=True):
        result = runner.invoke(_root, ["user", *args], input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_user_add_reads_the_password_from_stdin_and_never_prints_it(cli, rt):
    out = cli(
        "add",
        "--email",
        "Lead@YJS.example.org",
        "--role",
        "lead",
        "--password-stdin",
        input=GOOD + "\n",
    ).output
    assert "lead@yjs.example.org" in out and GOOD not in out
    with rt.transaction() as s:
        user = accounts.find_user(s, "lead@yjs.example.org")
        assert user.role == "lead" and accounts.verify_password(user, GOOD)


def test_user_add_at_a_terminal_asks_twice_without_echo(cli, rt, monkeypatch):
    monkeypatch.setattr("yjvoice.cli_admin._interactive", lambda: True)
    res = cli("add", "--email", "v@yjs.example.org", "--role", "viewer", input=f"{GOOD}\n{GOOD}\n")
    assert "Password:" in res.output and "Repeat for confirmation:" in res.output
    assert GOOD not in res.output
    with rt.transaction() as s:
        assert accounts.verify_password(accounts.find_user(s, "v@yjs.example.org"), GOOD)


def test_user_add_without_a_terminal_or_stdin_flag_asks_for_the_flag(cli):
    res = cli("add", "--email", "a@yjs.example.org", "--role", "viewer", input="", ok=False)
    assert res.exit_code != 0 and "--password-stdin" in res.output


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--role", "lead"], "short", "12 characters"),
        (["--role", "lead"], "password1234", "too easy to guess"),
        (["--role", "admin"], GOOD, "Invalid value for '--role'"),
    ],
)
def test_user_add_refuses_bad_input_with_a_clear_message(cli, args, password, message):
    res = cli(
        "add",
        "--email",
        "a@yjs.example.org",
        *args,
        "--password-stdin",
        input=password + "\n",
        ok=False,
    )
    assert res.exit_code != 0 and message in res.output and password not in res.output


def test_user_add_twice_points_to_the_password_command(cli):
    cli(
        "add",
        "--email",
        "a@yjs.example.org",
        "--role",
        "viewer",
        "--password-stdin",
        input=GOOD + "\n",
    )
    res = cli(
        "add",
        "--email",
        "a@yjs.example.org",
        "--role",
        "viewer",
        "--password-stdin",
        input=GOOD + "\n",
        ok=False,
    )
    assert "already an account" in res.output and "yjvoice user password" in res.output


def test_user_list_disable_enable_unlock_and_password(cli, rt):
    for email, role in (("lead@yjs.example.org", "lead"), ("rev@yjs.example.org", "reviewer")):
        cli("add", "--email", email, "--role", role, "--password-stdin", input=GOOD + "\n")
    listed = json.loads(cli("list", "--json").output)
    assert [(u["email"], u["role"], u["state"]) for u in listed] == [
        ("lead@yjs.example.org", "lead", "active"),
        ("rev@yjs.example.org", "reviewer", "active"),
    ]
    assert "rev@yjs.example.org" in cli("list").output
    assert "Disabled rev@yjs.example.org" in cli("disable", "REV@yjs.example.org").output
    assert json.loads(cli("list", "--json").output)[1]["state"] == "disabled"
    cli("enable", "rev@yjs.example.org")
    with rt.transaction() as s:
        accounts.find_user(s, "rev@yjs.example.org").locked_until = datetime.now(UTC) + timedelta(
            minutes=15
        )
    assert json.loads(cli("list", "--json").output)[1]["state"] == "locked"
    cli("unlock", "rev@yjs.example.org")
    out = cli("password", "rev@yjs.example.org", "--password-stdin", input=OTHER_GOOD + "\n").output
    assert OTHER_GOOD not in out
    with rt.transaction() as s:
        user = accounts.find_user(s, "rev@yjs.example.org")
        assert user.active and accounts.verify_password(user, OTHER_GOOD)


def test_user_disable_refuses_the_last_lead_and_unknown_emails(cli):
    cli(
        "add",
        "--email",
        "lead@yjs.example.org",
        "--role",
        "lead",
        "--password-stdin",
        input=GOOD + "\n",
    )
    res = cli("disable", "lead@yjs.example.org", ok=False)
    assert res.exit_code != 0 and "at least one active lead" in res.output
    res = cli("disable", "nobody@yjs.example.org", ok=False)
    assert res.exit_code != 0 and "no account" in res.output


def test_user_commands_need_the_database_set_up(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    res = CliRunner().invoke(_root, ["user", "list"])
    assert res.exit_code != 0 and "yjvoice init" in res.output
