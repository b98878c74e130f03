"""Staff accounts: create, check passwords (argon2id)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.models import User

ROLES = ("lead", "reviewer", "safeguarding", "viewer")
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 "low memory" profile


def use_cheap_hashing_for_tests() -> None:
    """Swap in a fast, weak argon2 profile: for test suites only, never in production."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not a real password, only for equal timing")


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


def normalise_email(email: str) -> str:
    """Return an email address trimmed and lower-cased, or raise AccountError."""
    email = (email or "").strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError("that does not look like an email address")
    return email


def check_password_rules(password: str) -> None:
    """Raise AccountError when a password is too weak to accept."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


def upsert_user(session: Session, email: str, password: str, role: str = "lead") -> User:
    """Create a user, or reset an existing user's password and role."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    email = normalise_email(email)
    check_password_rules(password)
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        user = User(email=email, role=role, password_hash="")
        session.add(user)
    user.password_hash, user.role, user.active = _hasher.hash(password), role, True
    session.flush()
    return user


MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# Verifying against a real hash when the email is unknown keeps the timing the same, so a
# response time does not tell an attacker which emails have accounts.
_DUMMY_HASH = _hasher.hash("not a real password, only for equal timing")


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the user when the password is right and the account open; count failures.

    After MAX_FAILED_LOGINS wrong passwords in a row the account is locked for
    LOCK_MINUTES; a right password during the lock is refused too. The caller commits.
    """
    try:
        user = session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    except AccountError:
        user = None
    if user is None or not user.active:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password or "")
        return None
    now = datetime.now(UTC)
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not verify_password(user, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
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
