"""SQLAlchemy 2.x typed models: rounds, respondents, answers and the inbound log.

No names, usernames, phone numbers or raw Telegram ids are ever stored: a Telegram
respondent is found again through ``HMAC(SECRET_KEY, telegram user id)``, a text-message
respondent through ``HMAC(SECRET_KEY, E.164 number)``; a web respondent through the SHA-256
of an opaque cookie token. The one exception is a number whose text must wait (``SmsOutbox``):
encrypted, and erased once sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

from surveys.storage.crypto import EncryptedJSON, EncryptedText


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes; read them back aware in UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use surveys.storage.models.utcnow()")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # SQLite keeps no zone
        return value


class Base(DeclarativeBase):
    """Declarative base of every table; constraints get stable names for migrations."""

    #: Every model maps one Table (SQLAlchemy's typing allows any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


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
    # The languages it is offered in, in the order the service shows them ("cy" first...).
    languages: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["en"], server_default='["en"]'
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the "You said, we did" page went public (None: not yet, or taken down).
    changes_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Open all year, no closing date (end-of-intervention feedback): results by month.
    rolling: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    respondents: Mapped[list[Respondent]] = relationship(back_populates="round")


class LocalBank(Base):
    """A service's own priority or one-off consultation, written in the workbench.

    It joins the packaged banks in the catalogue (``surveys.services.questions``) once it
    has a question; ``key`` is its priority key, never one of the packaged banks'.
    """

    __tablename__ = "local_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="priority")  # priority | consultation
    title: Mapped[str] = mapped_column(String(200))
    title_cy: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)  # the bank's description
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LocalQuestion(Base):
    """One version of a question a service wrote, under its own or a national priority.

    ``spec`` is the question as a bank file holds it (type, text, options, show_if, help,
    max_length), without its id; ``show_if`` names the stable ``name`` of the question it
    follows. ``qid`` is the id answers store: ``name`` for the first version, then
    ``name.v2``... A version that has been asked is never changed: editing it adds the next
    version (``status`` live) and retires this one, so answers keep the wording they answered.
    """

    __tablename__ = "local_questions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_local_questions_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    qid: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="live")  # live | retired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CatalogueStamp(Base):
    """One row: a fresh random stamp on every change to the local questions.

    Every process keeps the catalogue it built and compares one short string per request
    to know whether another process changed a question since.
    """

    __tablename__ = "catalogue_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    stamp: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    # Chosen at first contact (a link, a button, a keyword) and used in every reply after.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # HMAC(SECRET_KEY, telegram user id) or SHA-256(web cookie token); never a raw id.
    resume_key: Mapped[str | None] = mapped_column(String(64))
    withdraw_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an answer of theirs was flagged: every page after shows where to get help.
    disclosed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
    __table_args__ = (
        Index("ix_answers_round_question", "round_id", "question_id"),
        # The few answers the second reading has not read yet (a worker's next batch).
        Index(
            "ix_answers_unassessed",
            "id",
            sqlite_where=text("assessed_at IS NULL"),
            postgresql_where=text("assessed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    respondent_id: Mapped[str] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(128))
    audience: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    # As given (a choice's label for tapped answers); encrypted at rest (surveys.storage.crypto).
    text: Mapped[str] = mapped_column(EncryptedText)
    choice: Mapped[str | None] = mapped_column(String(64))  # the option key, for tapped answers
    # The language the question was shown in; the words are kept and quoted as given.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # The delivery this answer came in on: "tg:<update_id>", "web:<submission uuid>", ...
    inbound_key: Mapped[str] = mapped_column(String(80), unique=True)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when retention purged the raw text (``text`` is then emptied; redacted text stays).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Analysis, computed when the answer is stored (surveys.analysis.pipeline).
    redacted: Mapped[str | None] = mapped_column(EncryptedText)
    redactions: Mapped[list[dict[str, Any]] | None] = mapped_column(EncryptedJSON)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    priority_guess: Mapped[str | None] = mapped_column(String(64))
    priority_confidence: Mapped[float | None] = mapped_column(Float)
    themes: Mapped[list[str] | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    flag_categories: Mapped[list[str] | None] = mapped_column(JSON)
    # "flag" (the lexicon's hard flag) or "possible" (the learned recall net, or text the
    # English models cannot read); the net's score for the answer's top sentence, 0..1.
    flag_tier: Mapped[str | None] = mapped_column(String(16))
    flag_score: Mapped[float | None] = mapped_column(Float)
    # When the second reading (the recall net and the heads, ``surveys.services.assessing``,
    # in a worker) read a written answer; NULL until then: the answer is "being read" and
    # never quoted. Stored already read when nothing is left to read (a tapped choice).
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # A worker reading the answer holds it until then; after a killed worker, another reads it.
    assess_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Review by the lead or a reviewer; exports read approved, unflagged answers only.
    review_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sentiment_override: Mapped[str | None] = mapped_column(String(16))
    priority_override: Mapped[str | None] = mapped_column(String(64))
    is_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    quote_text: Mapped[str | None] = mapped_column(EncryptedText)  # a light edit; `redacted` kept
    # The lead's English translation of a quote given in another language (the English plan
    # prints it after the words as given).
    quote_translation: Mapped[str | None] = mapped_column(EncryptedText)

    respondent: Mapped[Respondent] = relationship(back_populates="answers")

    @property
    def effective_sentiment(self) -> str | None:
        """Return the reviewer's sentiment if they set one, else the engine's."""
        return self.sentiment_override or self.sentiment

    @property
    def effective_priority(self) -> str:
        """Return the priority the answer is filed under (a reviewer may move it)."""
        return self.priority_override or self.priority

    @property
    def publishable_text(self) -> str:
        """Return the text an export may print: the quote edit, else the redacted text."""
        return self.quote_text or self.redacted or ""


class Theme(Base):
    """A group of answers to one question with a readable label; the lead may edit it."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(200))
    key_phrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="engine")  # engine | lead
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerTheme(Base):
    """An answer's membership of a theme; ``source`` says whether the lead placed it."""

    __tablename__ = "answer_themes"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    source: Mapped[str] = mapped_column(String(16), default="engine")


class Change(Base):
    """One line of a round's "You said, we did" page, written by the lead for everyone."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[str | None] = mapped_column(String(64))
    you_said: Mapped[str] = mapped_column(Text)
    we_did: Mapped[str] = mapped_column(Text)
    # The same in Welsh, for a round offered in Welsh (English is shown where it is empty).
    you_said_cy: Mapped[str | None] = mapped_column(Text)
    we_did_cy: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Narrative(Base):
    """The lead's own narrative for one priority of a round's plan (else a draft is printed).

    It can quote what young people said, so it is encrypted at rest like their answers.
    """

    __tablename__ = "narratives"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    priority: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Proposal(Base):
    """A proposed action for the plan (staff and partners): Achieve, Do, Evidence / Measure."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    respondent_id: Mapped[str | None] = mapped_column(
        ForeignKey("respondents.id", ondelete="SET NULL")
    )
    priority: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(100))
    achieve: Mapped[str] = mapped_column(Text)
    do: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|accepted|declined|merged
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"))
    inbound_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalVote(Base):
    """One anonymous supporting vote; a voter (keyed hash) supports a proposal once."""

    __tablename__ = "proposal_votes"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    voter_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SafeguardingCase(Base):
    """A flagged answer waiting for the safeguarding lead: acknowledge, record action, close."""

    __tablename__ = "safeguarding_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), unique=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "flag": the lexicon matched (help shown at once); "possible": the recall net, or a
    # language the models cannot read. Old cases (before tiers) are hard flags.
    tier: Mapped[str] = mapped_column(String(16), default="flag", server_default="flag")
    score: Mapped[float | None] = mapped_column(Float)
    # What triggered it, as [start, end] character offsets into the answer's raw text
    # (never a copy of the words: retention empties the text and the trigger with it).
    trigger_spans: Mapped[list[list[int]] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(16), default="new", index=True
    )  # new|acknowledged|closed
    # A way to reach them, only if they left one; encrypted at rest (surveys.storage.crypto).
    contact: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_note: Mapped[str | None] = mapped_column(EncryptedText)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Inbound(Base):
    """Every delivery already processed, so a retried or re-posted one is applied once."""

    __tablename__ = "inbound"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    respondent_id: Mapped[str | None] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsNumber(Base):
    """One phone number that texts us or that we text, known only by its keyed hash.

    ``number_hash`` is ``keyed_hash(SECRET_KEY, "sms", E.164 number)``: the number itself is
    never stored here. A row with ``opted_out_at`` set is on the suppression list (the number
    texted STOP): nothing is sent to it until it texts START. ``seen_at`` is when it last
    texted (a conversation idle longer than ``SMS_SESSION_HOURS`` is welcomed back first);
    ``misses`` counts unreadable replies to ``miss_question`` (re-asked once, then skipped);
    ``window_start``/``window_count`` count the texts sent to it in the current hour, kept
    under ``SMS_HOURLY_CAP``.
    """

    __tablename__ = "sms_numbers"

    number_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    miss_question: Mapped[str | None] = mapped_column(String(128))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_count: Mapped[int] = mapped_column(Integer, default=0)


class SmsOutbox(Base):
    """A text that must wait (quiet hours, a provider failure): sent later by a worker.

    The number is kept encrypted (``EncryptedText``) only until the text is sent or given
    up, then erased (``number`` set to NULL); ``number_hash`` stays for the per-number cap
    and the suppression check. Texts sent at once never get a row.
    """

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(EncryptedText)
    number_hash: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # reply | invite | reminder
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """Someone who asked, at the end of a Telegram or SMS conversation, to be told what changed.

    The address (a phone number in E.164 or a Telegram chat id) is kept encrypted only until
    the round's "You said, we did" page is sent to it, then erased (``address`` set to
    NULL); ``address_hash`` (a keyed hash) stops one person being told twice.
    """

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("round_id", "channel", "address_hash", name="uq_followups_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | telegram
    audience: Mapped[str] = mapped_column(String(16), default="child")
    address: Mapped[str | None] = mapped_column(EncryptedText)
    address_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    """A member of staff who signs in to the admin pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped at login, logout and password change: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0)


class AlertMessage(Base):
    """A safeguarding alert waiting to be delivered (an outbox): retried until it is sent.

    It carries the case id, category and round, never the answer text.
    """

    __tablename__ = "alert_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("safeguarding_cases.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # email | telegram
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16), default="alert")  # alert | escalation
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """An append-only record of who did what: sign-ins, role changes, views of raw text,
    quote edits, exports, purges and withdrawals."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")  # email, or "system"
    action: Mapped[str] = mapped_column(String(64), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    target: Mapped[str | None] = mapped_column(String(128))  # e.g. "answer:42", "user:3"
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """A piece of background work (``surveys.jobs``): the source of truth for the queue.

    The queue library (Huey) only carries a job's id to a worker. A worker claims the row
    with a lease it renews while it works; a sweep gives a job whose lease ran out (its worker
    was killed) back to the queue. At most one job per ``key`` waits in the queue at a time.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_queued_key",
            "key",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # JOB_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int | None] = mapped_column(Integer)  # None: until it succeeds
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(120))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ids and counts only
    last_error: Mapped[str | None] = mapped_column(String(300))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
