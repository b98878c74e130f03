"""SQLAlchemy 2.x typed models: rounds, respondents, answers and the inbound log.

No names, usernames, phone numbers or raw Telegram ids are ever stored: a Telegram
respondent is found again through ``HMAC(SECRET_KEY, telegram user id)``; a web respondent
through the SHA-256 of an opaque cookie token.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROUND_STATUSES = ("draft", "open", "closed")
CHANNELS = ("web", "telegram", "console", "import")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes; read them back aware in UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use surveys.models.utcnow()")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # SQLite keeps no zone
        return value


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Priority(Base):
    """A plan section (national or local priority), loaded from the question banks."""

    __tablename__ = "priorities"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)


class Round(Base):
    """A consultation round: which priorities, which audiences, open or closed."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    closes_on: Mapped[date | None] = mapped_column(Date)
    priorities: Mapped[list[str]] = mapped_column(JSON)
    audiences: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    respondents: Mapped[list[Respondent]] = relationship(back_populates="round")


class Respondent(Base):
    """One person answering one round through one channel; pseudonymous."""

    __tablename__ = "respondents"
    __table_args__ = (
        UniqueConstraint("round_id", "channel", "resume_key", name="uq_respondent_resume"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str | None] = mapped_column(String(16))
    # HMAC(SECRET_KEY, telegram user id) or SHA-256(web cookie token); never a raw id.
    resume_key: Mapped[str | None] = mapped_column(String(64))
    withdraw_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship(back_populates="respondents")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="respondent", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def pseudonym(self) -> str:
        """Return the short label shown to the lead instead of any identity."""
        return "R-" + self.id[:8].upper()


class ChatLink(Base):
    """Which respondent a chat (keyed hash of a Telegram user id) is talking as right now."""

    __tablename__ = "chat_links"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    respondent_id: Mapped[str] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Answer(Base):
    """An answer as given; a changed answer supersedes the earlier one (both kept)."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_round_question", "round_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    respondent_id: Mapped[str] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(128))
    audience: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)  # as given (a choice's label for tapped answers)
    choice: Mapped[str | None] = mapped_column(String(64))  # the option key, for tapped answers
    # The delivery this answer came in on: "tg:<update_id>", "web:<submission uuid>", ...
    inbound_key: Mapped[str] = mapped_column(String(80), unique=True)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Analysis, computed when the answer is stored (surveys.ingest).
    redacted: Mapped[str | None] = mapped_column(Text)
    redactions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    priority_guess: Mapped[str | None] = mapped_column(String(64))
    priority_confidence: Mapped[float | None] = mapped_column(Float)
    themes: Mapped[list[str] | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    flag_categories: Mapped[list[str] | None] = mapped_column(JSON)

    respondent: Mapped[Respondent] = relationship(back_populates="answers")


class Inbound(Base):
    """Every delivery already processed, so a retried or re-posted one is applied once."""

    __tablename__ = "inbound"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    respondent_id: Mapped[str | None] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A member of staff who signs in to the admin pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
