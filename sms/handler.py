"""Apply one received text to its conversation, exactly once, and say what to text back.

``handle`` runs in one transaction (``conversation.run``): the number's row is locked first
(``texting.number_row``: the suppression list, when it last texted, unreadable replies, the
hourly cap), then the conversation, and the provider's message id is claimed as the
delivery key. A re-delivered text finds its key claimed and gets nothing: nothing stored,
nothing sent. Only after the commit are the texts handed back to be sent.

What is SMS-only here: STOP, START and HELP outside a conversation, the withdrawal code
by text, a code that starts a round, the "welcome back" after a long silence, reading a
choice from a number or a misspelling, and skipping a question after one unreadable re-ask.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from sms import render
from sms.translate import CHANNEL, Incoming, audience_choice, chat_key, choice_for, word
from surveys.core import engine
from surveys.runtime import Runtime
from surveys.services import conversation, texting, withdrawal
from surveys.storage import store
from surveys.storage.models import Respondent, SmsNumber, utcnow

log = logging.getLogger("yjvoice.sms")
WITHDRAW_RATE_LIMIT = "5 per minute;30 per hour"
_limiter = MovingWindowRateLimiter(MemoryStorage())


@dataclass
class Result:
    """What one received text did, and the texts to send back after the commit."""

    texts: list[str] = field(default_factory=list)
    duplicate: bool = False
    respondent_id: str | None = None
    stored: int = 0
    flagged: bool = False


def _t(name: str, audience: str | None, **fmt: object) -> str:
    return engine.default_texts().get(name, audience, **fmt)


class _Delivery:
    """The work of one text inside its transaction."""

    def __init__(self, session: Session, rt: Runtime, inc: Incoming, now: datetime) -> None:
        self.session, self.rt, self.inc, self.now = session, rt, inc, now
        self.ctx = rt.context
        self.key = chat_key(rt.settings.secret_key, inc.number)
        self.result = Result()

    # ----------------------------------------------------------------- helpers
    def claim(self, respondent_id: str | None = None) -> bool:
        if not store.claim(self.session, self.inc.key, respondent_id):
            self.result.duplicate = True
            return False
        return True

    def say(self, *texts: str) -> None:
        self.result.texts.extend(texts)

    def apply(self, resp: Respondent, inbound: engine.Inbound, *, prefix: str = "") -> None:
        """Apply an input to an open conversation and word its replies as texts."""
        if not store.is_open(resp.round):
            if self.claim(resp.id):
                self.say(*render.texts(conversation.problem_replies(conversation.CLOSED)))
            return
        turn = conversation.apply(
            self.session, self.ctx, resp.id, inbound, key=self.inc.key, locked=True
        )
        self.record(turn, resp, prefix=prefix)

    def record(self, turn: conversation.Turn, resp: Respondent | None, *, prefix: str = "") -> None:
        if turn.duplicate:
            self.result.duplicate = True
            return
        self.result.respondent_id = turn.respondent_id
        self.result.stored, self.result.flagged = turn.stored, turn.flagged
        code = store.withdrawal_code(self.ctx.secret, turn.respondent_id or "")
        audience = resp.audience if resp is not None else None
        texts = render.texts(turn.replies, audience, code=code)
        if prefix and texts:
            texts[0] = f"{prefix}\n\n{texts[0]}"
        self.say(*texts)

    # ----------------------------------------------------------------- the kinds of text
    def run(self) -> Result:
        if store.seen(self.session, self.inc.key):
            self.result.duplicate = True
            return self.result
        row = texting.number_row(self.session, self.key)
        last_seen, row.seen_at = row.seen_at, self.now
        kind = self.inc.kind
        if row.opted_out_at is not None and kind != "opt_in" and word(self.inc.text) != "yes":
            self.claim()  # opted out: nothing stored, nothing sent, until START
            return self.result
        if kind == "opt_out":
            self.opt_out(row)
        elif kind == "opt_in" or row.opted_out_at is not None:
            self.opt_in(row)
        elif kind == "withdraw":
            self.withdraw()
        elif kind == "join" and self.join():
            pass
        else:
            self.converse(row, last_seen)
        if self.result.texts:
            allowed = texting.take_quota(row, len(self.result.texts), self.cap, self.now)
            del self.result.texts[allowed:]
        return self.result

    @property
    def cap(self) -> int:
        return self.rt.settings.sms.hourly_cap

    def linked(self) -> Respondent | None:
        return store.linked_respondent(self.session, CHANNEL, self.key)

    def opt_out(self, row: SmsNumber) -> None:
        row.opted_out_at = self.now
        if self.claim() and self.inc.provider != "twilio":
            # Twilio confirms an opt-out itself (and would refuse our text: error 21610).
            self.say(_t("sms_opted_out", None))
        log.info("sms: a number opted out")

    def opt_in(self, row: SmsNumber) -> None:
        row.opted_out_at = None
        resp = self.linked()
        if resp is not None and store.is_open(resp.round):
            self.apply(resp, engine.Inbound(command="start"), prefix=_t("sms_opted_in", None))
        elif self.claim():
            self.say(_t("sms_opted_in_idle", None))

    def withdraw(self) -> None:
        if not self.claim():
            return
        code = self.inc.code or ""
        if not code:
            self.say(_t("sms_withdraw_ask", None))
            return
        if not all(
            _limiter.hit(item, "sms-withdraw", self.key) for item in parse_many(WITHDRAW_RATE_LIMIT)
        ):
            self.say(_t("sms_withdraw_throttled", None))
            return
        if not self.inc.confirm:
            found = withdrawal.find(self.session, code) is not None
            shown = f"{code[:4]}-{code[4:]}" if len(code) == 8 else code
            self.say(
                _t("sms_withdraw_sure", None, code=shown)
                if found
                else _t("sms_withdraw_not_found", None)
            )
            return
        done = withdrawal.withdraw(self.session, code, channel=CHANNEL)
        log.info("sms: withdrawal found=%s answers=%d", done.found, done.answers)
        self.say(_t("sms_withdraw_done" if done.found else "sms_withdraw_not_found", None))

    def join(self) -> bool:
        """Join the round a code names; False when no round has it (then it is an answer)."""
        try:
            rnd = store.get_round(self.session, self.inc.code or "")
        except store.RoundNotFound:
            if self.linked() is not None:
                return False  # "thanks" looks like a code: read it as an answer
            if self.claim():
                self.say(*render.texts(conversation.problem_replies("unknown_round")))
            return True
        if not store.is_open(rnd):
            if self.claim():
                self.say(*render.texts(conversation.problem_replies(conversation.CLOSED)))
            return True
        turn = conversation.join(
            self.session,
            self.ctx,
            code=rnd.code,
            channel=CHANNEL,
            chat_key=self.key,
            key=self.inc.key,
            audience=self.inc.audience,
        )
        resp = self.session.get(Respondent, turn.respondent_id) if turn.respondent_id else None
        self.record(turn, resp)
        return True

    def converse(self, row: SmsNumber, last_seen: datetime | None) -> None:
        resp = self.linked()
        if resp is None:
            if self.claim():
                name = "sms_help_idle" if self.inc.kind == "help" else "sms_gone"
                self.say(_t(name, None))
            return
        if self.inc.kind in ("help", "command"):
            self.apply(resp, engine.Inbound(command=self.inc.command))
            return
        state = engine.State.from_dict(resp.state)
        idle = timedelta(hours=self.rt.settings.sms.session_hours)
        if (
            last_seen is not None
            and self.now - last_seen > idle
            and state.stage != "done"
            and not state.paused
        ):
            # A long silence: ask before reading this text as an answer to an old question.
            if store.is_open(resp.round):
                conversation.apply(
                    self.session,
                    self.ctx,
                    resp.id,
                    engine.Inbound(command="stop"),
                    key=self.inc.key,
                    locked=True,
                )
                self.say(_t("sms_welcome_back", resp.audience))
            else:
                self.apply(resp, engine.Inbound(text=self.inc.text))
            return
        inbound, prefix = self.read_answer(row, resp, state)
        self.apply(resp, inbound, prefix=prefix)

    def read_answer(
        self, row: SmsNumber, resp: Respondent, state: engine.State
    ) -> tuple[engine.Inbound, str]:
        """Return the engine input a reply means here, and any words to put before the reply."""
        text = self.inc.text
        typed = engine.Inbound(text=text)
        if state.paused or engine.command_of(typed) is not None:
            return typed, ""
        survey = conversation.survey_for(resp.round, self.ctx.catalogue)
        if state.stage == "audience":
            aud = audience_choice(text, survey.audiences)
            return (engine.Inbound(choice=aud) if aud else typed), ""
        if state.stage != "question":
            return typed, ""
        question = next(
            (q for q in survey.questions(state.audience or "") if q.id == state.current), None
        )
        if question is None or question.type == "text":
            return typed, ""
        aud = state.audience or "child"
        choice = choice_for(text, tuple((o.key, o.label(aud)) for o in question.choices()))
        if choice is not None:
            row.misses, row.miss_question = 0, None
            return engine.Inbound(choice=choice, question_id=question.id), ""
        if row.miss_question == question.id and row.misses >= 1:
            row.misses, row.miss_question = 0, None
            return engine.Inbound(command="skip"), _t("sms_skipped", aud)
        row.misses, row.miss_question = 1, question.id
        return typed, ""


def handle(rt: Runtime, inc: Incoming, *, now: datetime | None = None) -> Result:
    """Apply one received text exactly once, commit, and return the texts to send back."""
    holder: dict[str, Result] = {}

    def work(session: Session) -> conversation.Turn:
        holder["result"] = _Delivery(session, rt, inc, now or utcnow()).run()
        return conversation.Turn(())

    turn = conversation.run(rt.transaction, work, label=inc.key)
    if turn.problem is not None:  # a domain error the delivery did not expect
        return Result(render.texts(turn.replies))
    result = holder["result"]
    log.info(
        "sms %s -> respondent %s%s",
        inc.key,
        result.respondent_id or "-",
        " (duplicate)" if result.duplicate else "",
    )
    return result


def reset_limits() -> None:
    """Forget every withdrawal attempt count (tests)."""
    _limiter.storage.reset()
