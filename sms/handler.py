"""Apply one received text to its conversation, exactly once, and say what to text back.

``handle`` runs in one transaction (``conversation.run``): the number's row is locked first
(``texting.number_row``: the suppression list, when it last texted, unreadable replies, the
hourly cap), then the conversation, and the provider's message id is claimed as the
delivery key. A re-delivered text finds its key claimed and gets nothing: nothing stored,
nothing sent. Only after the commit are the texts handed back to be sent.

What is SMS-only here: STOP, START and HELP outside a conversation, the withdrawal code
by text, NEWS at the end (to be texted the round's "You said, we did" page), a code that
starts a round, the "welcome back" after a long silence, reading a
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
from surveys.core.vocabulary import ENGLISH
from surveys.runtime import Runtime
from surveys.services import conversation, followups, texting, withdrawal
from surveys.storage import store
from surveys.storage.models import Respondent, utcnow

log = logging.getLogger("yjvoice.sms")
WITHDRAW_RATE_LIMIT = "5 per minute;30 per hour"
_limiter = MovingWindowRateLimiter(MemoryStorage())


class _Duplicate(Exception):
    """This text was applied before: roll its transaction back, store and send nothing."""


@dataclass
class Result:
    """What one received text did, and the texts to send back after the commit."""

    texts: list[str] = field(default_factory=list)
    duplicate: bool = False
    respondent_id: str | None = None
    stored: int = 0
    flagged: bool = False


class _Delivery:
    """The work of one text inside its transaction."""

    def __init__(self, session: Session, rt: Runtime, inc: Incoming, now: datetime) -> None:
        self.session, self.rt, self.inc, self.now = session, rt, inc, now
        self.ctx = rt.context_in(session)  # the stamp read in this transaction
        self.key = chat_key(rt.settings.secret_key, inc.number)
        self.result = Result()

    # ----------------------------------------------------------------- helpers
    def t(
        self, name: str, audience: str | None = None, lang: str | None = None, **fmt: object
    ) -> str:
        """Return one of our texts, in the language the text or the conversation uses."""
        return self.ctx.texts.get(name, audience, lang or self.inc.lang or ENGLISH, **fmt)

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
                lang = resp.language or ENGLISH
                closed = conversation.problem_replies(conversation.CLOSED, resp.audience, lang)
                self.say(*render.texts(closed, resp.audience, lang, wording=self.ctx.texts))
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
        lang = (resp.language if resp is not None else None) or self.inc.lang or ENGLISH
        texts = render.texts(turn.replies, audience, lang, code=code, wording=self.ctx.texts)
        if prefix and texts:
            texts[0] = f"{prefix}\n\n{texts[0]}"
        self.say(*texts)

    # ----------------------------------------------------------------- the kinds of text
    def run(self) -> Result:
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
        elif (kind == "news" and self.news()) or (kind == "join" and self.join()):
            pass
        else:
            self.converse(row, last_seen)
        if self.result.duplicate:
            raise _Duplicate  # roll back what this copy changed (the number's row)
        if self.result.texts:
            allowed = texting.take_quota(row, len(self.result.texts), self.cap, self.now)
            del self.result.texts[allowed:]
        texting.save_number(self.session, row)
        return self.result

    @property
    def cap(self) -> int:
        return self.rt.settings.sms.hourly_cap

    def linked(self) -> Respondent | None:
        return store.linked_respondent(self.session, CHANNEL, self.key)

    def opt_out(self, row: texting.Number) -> None:
        row.opted_out_at = self.now
        if self.claim() and self.inc.provider != "twilio":
            # Twilio confirms an opt-out itself (and would refuse our text: error 21610).
            self.say(self.t("sms_opted_out"))
        log.info("sms: a number opted out")

    def opt_in(self, row: texting.Number) -> None:
        row.opted_out_at = None
        resp = self.linked()
        if resp is not None and store.is_open(resp.round):
            back = self.t("sms_opted_in", resp.audience, resp.language)
            self.apply(resp, engine.Inbound(command="start"), prefix=back)
        elif self.claim():
            self.say(self.t("sms_opted_in_idle"))

    def news(self) -> bool:
        """NEWS after the last question: keep the number to text the round's "You said, we did".

        False when it is not a request here (mid-question: then it is read as an answer).
        """
        resp = self.linked()
        if resp is None:
            return False
        state = engine.State.from_dict(resp.state)
        if state.stage != "done":
            return False
        if self.claim(resp.id):
            followups.ask(
                self.session,
                self.rt.settings.secret_key,
                resp.round,
                channel=CHANNEL,
                address=self.inc.number,
                audience=resp.audience,
                language=resp.language,
            )
            self.say(self.t("news_yes", resp.audience, resp.language))
        return True

    def withdraw(self) -> None:
        if not self.claim():
            return
        code = self.inc.code or ""
        if not code:
            self.say(self.t("sms_withdraw_ask"))
            return
        if not all(
            _limiter.hit(item, "sms-withdraw", self.key) for item in parse_many(WITHDRAW_RATE_LIMIT)
        ):
            self.say(self.t("sms_withdraw_throttled"))
            return
        if not self.inc.confirm:
            found = withdrawal.find(self.session, code) is not None
            shown = f"{code[:4]}-{code[4:]}" if len(code) == 8 else code
            self.say(
                self.t("sms_withdraw_sure", code=shown)
                if found
                else self.t("sms_withdraw_not_found")
            )
            return
        done = withdrawal.withdraw(self.session, code, channel=CHANNEL)
        log.info("sms: withdrawal found=%s answers=%d", done.found, done.answers)
        self.say(self.t("sms_withdraw_done" if done.found else "sms_withdraw_not_found"))

    def join(self) -> bool:
        """Join the round a code names; False when no round has it (then it is an answer)."""
        try:
            rnd = store.get_round(self.session, self.inc.code or "")
        except store.RoundNotFound:
            if self.linked() is not None:
                return False  # "thanks" looks like a code: read it as an answer
            if self.claim():
                self.say(self.t("sms_unknown_round"))
            return True
        if not store.is_open(rnd):
            if self.claim():
                lang = self.inc.lang or ENGLISH
                closed = conversation.problem_replies(conversation.CLOSED, None, lang)
                self.say(*render.texts(closed, None, lang))
            return True
        turn = conversation.join(
            self.session,
            self.ctx,
            code=rnd.code,
            channel=CHANNEL,
            chat_key=self.key,
            key=self.inc.key,
            audience=self.inc.audience,
            lang=self.inc.lang,
        )
        resp = self.session.get(Respondent, turn.respondent_id) if turn.respondent_id else None
        self.record(turn, resp)
        return True

    def converse(self, row: texting.Number, last_seen: datetime | None) -> None:
        resp = self.linked()
        if resp is None:
            if self.claim():
                idle = self.inc.kind == "help"
                text = self.t("sms_help_idle" if idle else "sms_gone")
                self.say(text + "\n" + self.t("danger") if idle else text)
            return
        if self.inc.kind in ("help", "command"):
            self.apply(resp, engine.Inbound(command=self.inc.command))
            return
        state = engine.State.from_dict(resp.state)
        session_gap = timedelta(hours=self.rt.settings.sms.session_hours)
        if (
            last_seen is not None
            and self.now - last_seen > session_gap
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
                self.say(self.t("sms_welcome_back", resp.audience, resp.language))
            else:
                self.apply(resp, engine.Inbound(text=self.inc.text))
            return
        inbound, prefix = self.read_answer(row, resp, state)
        self.apply(resp, inbound, prefix=prefix)

    def read_answer(
        self, row: texting.Number, resp: Respondent, state: engine.State
    ) -> tuple[engine.Inbound, str]:
        """Return the engine input a reply means here, and any words to put before the reply."""
        text, lang = self.inc.text, state.lang
        typed = engine.Inbound(text=text)
        if state.paused or engine.command_of(typed, self.ctx.texts, lang) is not None:
            return typed, ""
        survey = conversation.survey_for(resp.round, self.ctx.catalogue, self.ctx.texts)
        if engine.language_of(survey, state, typed) is not None:
            return typed, ""  # "Cymraeg": the engine switches language
        if state.stage == "audience":
            aud = audience_choice(text, survey.audiences, lang)
            return (engine.Inbound(choice=aud) if aud else typed), ""
        if state.stage != "question":
            return typed, ""
        question = next(
            (q for q in survey.questions(state.audience or "") if q.id == state.current), None
        )
        if question is None or question.type == "text":
            return typed, ""
        aud = state.audience or "child"
        options = tuple((o.key, o.label(aud, lang)) for o in question.choices())
        choice = choice_for(text, options, lang)
        if choice is not None:
            row.misses, row.miss_question = 0, None
            return engine.Inbound(choice=choice, question_id=question.id), ""
        if row.miss_question == question.id and row.misses >= 1:
            row.misses, row.miss_question = 0, None
            return engine.Inbound(command="skip"), self.t("sms_skipped", aud, lang)
        row.misses, row.miss_question = 1, question.id
        return typed, ""


def handle(rt: Runtime, inc: Incoming, *, now: datetime | None = None) -> Result:
    """Apply one received text exactly once, commit, and return the texts to send back."""
    holder: dict[str, Result] = {}

    def work(session: Session) -> conversation.Turn:
        holder["result"] = _Delivery(session, rt, inc, now or utcnow()).run()
        return conversation.Turn(())

    try:
        turn = conversation.run(rt.transaction, work, label=inc.key)
    except _Duplicate:
        log.info("sms %s (duplicate)", inc.key)
        return Result(duplicate=True)
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
