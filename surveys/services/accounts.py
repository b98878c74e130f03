"""Staff accounts: create and manage them, check passwords (argon2id), lock after failures.

Password rules: at least 12 characters, and not a common or easily guessed password.
"Common" means in zxcvbn's list of the 30,000 passwords most often seen in breaches, or
scored below 3 (of 0-4) by zxcvbn, which also catches small variations ("Password123!"),
keyboard walks, repeats, dates and the person's own email address. Both ship inside the
``zxcvbn`` package, so the check works offline.

There is always at least one active lead: no change here may demote or disable the last
one (``LastLeadError``), so a service can never lock itself out of its own workbench.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.core.vocabulary import ROLES
from surveys.storage.models import User

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
#: zxcvbn scores 0 (guessed in a moment) to 4 (very hard); 3 is "safely unguessable".
MIN_PASSWORD_SCORE = 3
# Words anyone attacking this service would try first.
_SERVICE_WORDS = ("yjvoice", "youth", "justice", "yjs", "yot", "voice", "consultation")
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 "low memory" profile
_DUMMY_PASSWORD = "not a real password, only for equal timing"  # noqa: S105 - public on purpose


def use_cheap_hashing_for_tests() -> None:
    """Swap in a fast, weak argon2 profile: for test suites only, never in production."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _DUMMY_HASH = _hasher.hash(_DUMMY_PASSWORD)


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


class LastLeadError(AccountError):
    """The change would leave the service with no active lead."""


def normalise_email(email: str) -> str:
    """Return an email address trimmed and lower-cased, or raise AccountError."""
    email = (email or "").strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError("that does not look like an email address")
    return email


# --- password rules ---------------------------------------------------------------------

TOO_SHORT = f"the password must be at least {MIN_PASSWORD_LENGTH} characters long"
TOO_LONG = f"the password can be at most {MAX_PASSWORD_LENGTH} characters long"
TOO_COMMON = (
    "that password is too easy to guess: it is a common password, or close to one, and "
    "those are the first ones attackers try. Try three or four unrelated words that mean "
    "something to you, with spaces between them"
)
# zxcvbn keeps its user-input dictionary in a module global: serialise the calls.
_zxcvbn_lock = threading.Lock()


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _context_words(context: Iterable[str]) -> list[str]:
    words = list(_SERVICE_WORDS)
    for item in context:
        item = (item or "").lower()
        if item:
            words.append(item)
            words.extend(w for w in re.split(r"[^a-z0-9]+", item) if len(w) >= 3)
            words.append(re.sub(r"[^a-z0-9]+", "", item.partition("@")[0]))  # jo.bloggs
    return words


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Return why a password is not acceptable, in plain words, or None when it is fine.

    ``context`` holds words the person is known by (their email): a password built on
    them is refused too.
    """
    from zxcvbn import zxcvbn

    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_PASSWORD_LENGTH:
        return TOO_LONG
    folded = password.lower()
    if folded in _common_passwords() or folded.replace(" ", "") in _common_passwords():
        return TOO_COMMON
    with _zxcvbn_lock:
        # zxcvbn's cost grows quickly with length; 72 characters are plenty to judge.
        result = zxcvbn(password[:72], user_inputs=_context_words(context))
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = (result.get("feedback") or {}).get("warning") or ""
        if "common" in hint.lower():  # says again what TOO_COMMON already says
            hint = ""
        return TOO_COMMON + (f" ({hint.rstrip('.')})" if hint else "")
    return None


def check_password_rules(password: str, context: Iterable[str] = ()) -> None:
    """Raise AccountError when a password is too weak to accept."""
    problem = password_problem(password, context)
    if problem:
        raise AccountError(problem)


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password (rules are the caller's to check)."""
    return _hasher.hash(password)


# --- finding and listing ----------------------------------------------------------------


def find_user(session: Session, email: str) -> User | None:
    """Return the user with this email (any case), or None."""
    try:
        email = normalise_email(email)
    except AccountError:
        return None
    return session.scalar(select(User).where(func.lower(User.email) == email))


def get_user(session: Session, user_id: int) -> User:
    """Return a user by id, or raise AccountError."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("there is no such user")
    return user


def list_users(session: Session) -> list[User]:
    """Return every user, by role (leads first) then email."""
    users = session.scalars(select(User).order_by(User.email))
    return sorted(users, key=lambda u: ROLES.index(u.role) if u.role in ROLES else 99)


def is_locked(user: User, now: datetime | None = None) -> bool:
    """Return True while the account is slowed down after repeated wrong passwords."""
    now = now or datetime.now(UTC)
    return user.locked_until is not None and user.locked_until > now


# --- the last-lead guard ----------------------------------------------------------------


def _guard_last_lead(session: Session, user: User, role: str, active: bool) -> None:
    if user.id is None or user.role != "lead" or not user.active or (role == "lead" and active):
        return
    # Lock the leads' rows (PostgreSQL) so two leads demoting each other at the same
    # moment cannot both succeed; SQLite serialises writers anyway.
    leads = session.scalars(
        select(User.id)
        .where(User.role == "lead", User.active.is_(True), User.id != user.id)
        .with_for_update()
    ).all()
    if not leads:
        raise LastLeadError(
            "there must always be at least one active lead: make someone else a lead first"
        )


# --- changing accounts ------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")


def create_user(session: Session, email: str, password: str, role: str) -> User:
    """Create a new, active user; raise AccountError if the email is taken or rules fail."""
    _check_role(role)
    email = normalise_email(email)
    if find_user(session, email) is not None:
        raise AccountError("there is already an account with that email")
    check_password_rules(password, [email])
    user = User(email=email, role=role, password_hash=hash_password(password), active=True)
    session.add(user)
    session.flush()
    return user


def upsert_user(session: Session, email: str, password: str, role: str = "lead") -> User:
    """Create a user, or reset an existing user's password and role (and re-enable them)."""
    _check_role(role)
    email = normalise_email(email)
    check_password_rules(password, [email])
    user = find_user(session, email)
    if user is None:
        user = User(email=email, role=role, password_hash="")
        session.add(user)
    else:
        _guard_last_lead(session, user, role, True)
        user.session_version = (user.session_version or 0) + 1
        user.failed_logins, user.locked_until = 0, None
    user.password_hash, user.role, user.active = hash_password(password), role, True
    session.flush()
    return user


def set_role(session: Session, user: User, role: str) -> None:
    """Give a user another role (never demoting the last active lead)."""
    _check_role(role)
    _guard_last_lead(session, user, role, user.active)
    user.role = role


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable or re-enable an account; disabling ends every session it has."""
    _guard_last_lead(session, user, user.role, active)
    if user.active and not active:
        user.session_version = (user.session_version or 0) + 1
    user.active = active


def set_password(session: Session, user: User, password: str) -> None:
    """Set a new password, end every existing session and lift any lock."""
    check_password_rules(password, [user.email])
    user.password_hash = hash_password(password)
    user.session_version = (user.session_version or 0) + 1
    user.failed_logins, user.locked_until = 0, None


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a user's password after checking their current one."""
    if not verify_password(user, current or ""):
        raise AccountError("your current password is not right")
    if new == current:
        raise AccountError("the new password must be different from the current one")
    set_password(session, user, new)


def unlock(user: User) -> None:
    """Lift a lock after repeated wrong passwords, and reset the count.

    The session version moves on too: the web layer's per-address counts start again.
    """
    user.failed_logins, user.locked_until = 0, None
    user.session_version = (user.session_version or 0) + 1


# --- signing in -------------------------------------------------------------------------

MAX_FAILED_LOGINS = 5
#: Longest wait (seconds) between two tries on an account that keeps failing.
MAX_DELAY_SECONDS = 60
# Verifying against a real hash when the email is unknown keeps the timing the same, so a
# response time does not tell an attacker which emails have accounts. This one was made once
# with ``PasswordHasher()``'s profile, as _hasher's: the parameters are in the string, so
# verifying it costs what verifying an account's hash costs (tests/test_accounts.py checks
# they still match). Hashing it at import cost every process 0.2 s of CPU.
_FULL_COST_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$sQdxYuW3avmdwVGKZeQ6KQ$"
    "us+bWawd7n5PsSnQ/X2AtdcmYZHtq3zx3XxdaODdyiY"
)
_DUMMY_HASH = _FULL_COST_DUMMY_HASH


def delay_after(failures: int) -> timedelta:
    """Return how long an account waits before its next try, after this many failures.

    Nothing for the first MAX_FAILED_LOGINS - 1; then 1 s, doubling to MAX_DELAY_SECONDS.
    """
    if failures < MAX_FAILED_LOGINS:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - MAX_FAILED_LOGINS), MAX_DELAY_SECONDS))


def authenticate(
    session: Session, email: str, password: str, *, trusted_device: int | None = None
) -> User | None:
    """Return the user when the password is right and the account open; count failures.

    Wrong passwords in a row slow the account down instead of locking it: after
    MAX_FAILED_LOGINS, a try before ``locked_until`` (1 s, doubling up to a minute after
    the last failure) is refused unchecked. A browser that has signed in to this account
    before (``trusted_device``: the user id its device cookie names) is not slowed, so an
    attacker elsewhere cannot keep the owner out. The web layer also refuses an address
    after repeated failures on one account (``web.admin.signin``). The caller commits.
    """
    user = find_user(session, email)
    if user is None or not user.active:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password or "")
        return None
    now = datetime.now(UTC)
    if trusted_device != user.id and is_locked(user, now):
        return None
    if not verify_password(user, password):
        user.failed_logins += 1
        wait = delay_after(user.failed_logins)
        if wait:
            user.locked_until = now + wait
        return None
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def verify_password(user: User, password: str) -> bool:
    """Return True when the password matches the user's stored hash."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
