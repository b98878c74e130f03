"""Staff accounts: create, check passwords (argon2id)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.models import User

ROLES = ("lead", "reviewer", "safeguarding", "viewer")
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


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


def verify_password(user: User, password: str) -> bool:
    """Return True when the password matches the user's stored hash."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
