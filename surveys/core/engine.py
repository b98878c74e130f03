"""The conversation state machine that every channel (web, Telegram, console) shares.

``step(survey, state, inbound) -> StepResult`` is pure and deterministic: the same survey,
state and input always give the same new state, replies and answer events. Adapters
persist the state and answers, and render the replies in their own way (buttons, pages).

Stages: audience (unless fixed by the invite) -> consent -> question ... -> done.
At any point ``help``, ``skip``, ``back`` and ``stop`` work; a stopped conversation resumes
where it was on the next input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from surveys.core.catalogue import Catalogue, Question
from surveys.core.vocabulary import AUDIENCES

MESSAGES_FILE = Path(__file__).with_name("messages.yaml")
COMMANDS: dict[str, str] = {
    "help": "help",
    "/help": "help",
    "?": "help",
    "help me": "help",
    "skip": "skip",
    "/skip": "skip",
    "pass": "skip",
    "skip it": "skip",
    "back": "back",
    "/back": "back",
    "go back": "back",
    "previous": "back",
    "stop": "stop",
    "/stop": "stop",
    "pause": "stop",
    "quit": "stop",
    "exit": "stop",
}
TYPED_YES = {"yes", "y", "yeah", "yep", "yea", "ye", "ok", "okay", "sure", "start", "go"}
TYPED_NO = {"no", "n", "nah", "nope", "no thanks"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PUNCT_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


class Texts:
    """The engine's wording per audience, loaded from ``messages.yaml``."""

    def __init__(self, data: Mapping[str, Any]):
        self._data = data

    @classmethod
    def load(cls, path: Path = MESSAGES_FILE) -> Texts:
        """Load texts from a YAML file."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def get(self, name: str, audience: str | None, **fmt: Any) -> str:
        """Return one text for an audience (a young person's wording when not known yet)."""
        value = self._data[name]
        if isinstance(value, dict):
            chain = {"partner": ("partner", "staff"), None: ("child",)}.get(audience, (audience,))
            for key in (*chain, "default"):
                if key in value:
                    value = value[key]
                    break
            else:
                value = next(iter(value.values()))
        return str(value).format(**fmt) if fmt else str(value)

    def label(self, audience: str) -> str:
        """Return the button label for choosing an audience."""
        return str(self._data["audience_labels"][audience])


@cache
def default_texts() -> Texts:
    """Return the packaged texts (loaded once per process)."""
    return Texts.load()


@dataclass(frozen=True)
class Survey:
    """What one round asks: its title, audiences and the questions for each audience."""

    title: str
    audiences: tuple[str, ...]
    priorities: tuple[str, ...]
    catalogue: Catalogue
    texts: Texts = field(default_factory=default_texts)
    _by_audience: dict[str, tuple[Question, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for aud in self.audiences:
            if aud not in AUDIENCES:
                raise ValueError(f"unknown audience {aud!r}")
            self._by_audience[aud] = self.catalogue.questions_for(self.priorities, aud)

    def questions(self, audience: str) -> tuple[Question, ...]:
        """Return the questions this audience is asked, in order."""
        return self._by_audience.get(audience, ())


@dataclass(frozen=True)
class State:
    """Where one respondent is; JSON-serialisable through ``to_dict``/``from_dict``.

    ``answers`` keeps only what routing needs: a choice's key, ``"*"`` for a text answer,
    None for a skipped question. The words themselves live in the answers table only.
    """

    stage: str = "audience"  # audience | consent | question | done
    audience: str | None = None
    audience_fixed: bool = False
    current: str | None = None
    answers: Mapping[str, str | None] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    paused: bool = False
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a plain dict for storage."""
        return {
            "stage": self.stage,
            "audience": self.audience,
            "audience_fixed": self.audience_fixed,
            "current": self.current,
            "answers": dict(self.answers),
            "history": list(self.history),
            "paused": self.paused,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        """Rebuild a state from ``to_dict`` output."""
        return cls(
            stage=data.get("stage", "audience"),
            audience=data.get("audience"),
            audience_fixed=bool(data.get("audience_fixed")),
            current=data.get("current"),
            answers=dict(data.get("answers") or {}),
            history=tuple(data.get("history") or ()),
            paused=bool(data.get("paused")),
            version=int(data.get("version", 0)),
        )


@dataclass(frozen=True)
class Inbound:
    """One thing a respondent sent: typed text, a tapped choice, a command, or media."""

    text: str | None = None
    choice: str | None = None
    command: str | None = None  # help | skip | back | stop | start
    question_id: str | None = None  # which question a tapped choice or form answered
    media: bool = False  # a sticker, photo, voice note... that cannot be read


@dataclass(frozen=True)
class Reply:
    """One message back to the respondent; ``kind`` is prompt, info or error."""

    kind: str
    text: str
    choices: tuple[tuple[str, str], ...] = ()
    question_id: str | None = None
    priority: str | None = None
    progress: tuple[int, int] | None = None
    accepts_text: bool = False
    stage: str = ""
    help: str | None = None


@dataclass(frozen=True)
class AnswerEvent:
    """An answer to store: the words as given and, for a tapped answer, the option key."""

    question_id: str
    priority: str
    text: str
    choice: str | None = None


@dataclass(frozen=True)
class StepResult:
    """The new state, what to say, what to store, and which earlier answers no longer apply."""

    state: State
    replies: tuple[Reply, ...]
    answers: tuple[AnswerEvent, ...] = ()
    retracted: tuple[str, ...] = ()
    completed: bool = False


def clean_text(text: str) -> str:
    """Normalise typed text: NFC, no control characters or lone surrogates, trimmed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def _norm(text: str) -> str:
    return _PUNCT_EDGES.sub("", text.casefold()).replace("’", "'")


def command_of(inbound: Inbound) -> str | None:
    """Return the command an input carries, typed or explicit."""
    if inbound.command:
        return inbound.command
    if inbound.text is not None and inbound.choice is None:
        raw = inbound.text.strip().casefold()
        return COMMANDS.get(raw) or COMMANDS.get(_norm(raw))
    return None


def begin(survey: Survey, *, audience: str | None = None) -> StepResult:
    """Start a conversation: welcome, then the audience question or the consent screen."""
    if audience is not None and audience not in survey.audiences:
        raise ValueError(f"audience {audience!r} is not part of this round")
    if audience is None and len(survey.audiences) == 1:
        audience = survey.audiences[0]
    fixed = audience is not None
    state = State(
        stage="consent" if fixed else "audience", audience=audience, audience_fixed=fixed, version=1
    )
    welcome = Reply(
        "info", survey.texts.get("welcome", audience, title=survey.title), stage="welcome"
    )
    return StepResult(state, (welcome, *render(survey, state)))


def render(survey: Survey, state: State, *, withdrawal_code: str = "") -> tuple[Reply, ...]:
    """Return the prompt for where the respondent is now, without changing anything."""
    t, aud = survey.texts, state.audience
    if state.stage == "audience":
        choices = tuple((a, t.label(a)) for a in survey.audiences)
        return (Reply("prompt", t.get("audience_prompt", aud), choices, stage="audience"),)
    if state.stage == "consent":
        text = t.get("consent", aud) + "\n\n" + t.get("danger", aud)
        choices = (("yes", t.get("consent_yes", aud)), ("no", t.get("consent_no", aud)))
        return (Reply("prompt", text, choices, stage="consent"),)
    if state.stage == "question":
        q = _current_question(survey, state)
        if q is not None:
            return (_question_reply(survey, state, q),)
    text = t.get("finished", aud)
    if withdrawal_code:
        text = t.get("thanks", aud, code=withdrawal_code)
    return (Reply("info", text + "\n\n" + t.get("danger", aud), stage="done"),)


def _question_reply(survey: Survey, state: State, q: Question) -> Reply:
    aud = state.audience or "child"
    visible = [
        x.id for x in survey.questions(aud) if x.show_if is None or x.show_if.holds(state.answers)
    ]
    position = visible.index(q.id) + 1 if q.id in visible else len(state.history) + 1
    choices = tuple((o.key, o.label(aud)) for o in q.choices())
    return Reply(
        "prompt",
        q.text_for(aud) or "",
        choices,
        question_id=q.id,
        priority=q.priority,
        progress=(position, max(len(visible), position)),
        accepts_text=q.type == "text",
        stage="question",
        help=q.help_for(aud),
    )


def _current_question(survey: Survey, state: State) -> Question | None:
    for q in survey.questions(state.audience or ""):
        if q.id == state.current:
            return q
    return None


def _next_question(
    survey: Survey, audience: str, after: str | None, answers: Mapping[str, str | None]
) -> Question | None:
    questions = survey.questions(audience)
    ids = [q.id for q in questions]
    start = ids.index(after) + 1 if after in ids else 0
    for q in questions[start:]:
        if q.show_if is None or q.show_if.holds(answers):
            return q
    return None


def _advance(
    survey: Survey, state: State, after: str | None, replies: list[Reply], withdrawal_code: str
) -> tuple[State, bool]:
    aud = state.audience or "child"
    nxt = _next_question(survey, aud, after, state.answers)
    if nxt is None:
        state = replace(state, stage="done", current=None)
        replies.extend(render(survey, state, withdrawal_code=withdrawal_code))
        return state, True
    state = replace(state, stage="question", current=nxt.id)
    replies.append(_question_reply(survey, state, nxt))
    return state, False


def _match_choice(q_choices: tuple[tuple[str, str], ...], inbound: Inbound) -> str | None:
    keys = {k for k, _ in q_choices}
    if inbound.choice is not None:
        return inbound.choice if inbound.choice in keys else None
    if inbound.text is None:
        return None
    typed = _norm(clean_text(inbound.text))
    for i, (key, label) in enumerate(q_choices, start=1):
        if typed in (key, _norm(label), str(i), key.replace("_", " ")):
            return key
    if "yes" in keys and typed in TYPED_YES:
        return "yes"
    if "no" in keys and typed in TYPED_NO:
        return "no"
    return None


def step(
    survey: Survey, state: State, inbound: Inbound, *, withdrawal_code: str = ""
) -> StepResult:
    """Advance one conversation by one input; return the new state, replies and answers."""
    t, aud = survey.texts, state.audience
    cmd = command_of(inbound)
    replies: list[Reply] = []

    if state.stage == "done":
        return StepResult(state, render(survey, state))
    if cmd == "help":
        text = t.get("help", aud) + "\n\n" + t.get("danger", aud)
        current = render(survey, state)
        if current and current[0].help:
            text = current[0].help + "\n\n" + text
        return StepResult(state, (Reply("info", text, stage="help"), *current))
    if cmd == "stop":
        paused = replace(state, paused=True, version=state.version + 1)
        text = t.get("stopped", aud) + "\n\n" + t.get("danger", aud)
        return StepResult(paused, (Reply("info", text, stage="stopped"),))
    if state.paused:
        resumed = replace(state, paused=False, version=state.version + 1)
        return StepResult(
            resumed,
            (Reply("info", t.get("resumed", aud), stage="resumed"), *render(survey, resumed)),
        )
    if cmd == "start" or inbound.media:
        kind = "media" if inbound.media else None
        pre = (Reply("error", t.get(kind, aud), stage="media"),) if kind else ()
        return StepResult(state, (*pre, *render(survey, state)))

    bumped = replace(state, version=state.version + 1)
    if state.stage == "audience":
        choice = _match_choice(tuple((a, t.label(a)) for a in survey.audiences), inbound)
        if choice is None:
            return StepResult(
                state, (Reply("error", t.get("pick_one", aud)), *render(survey, state))
            )
        new = replace(bumped, stage="consent", audience=choice)
        return StepResult(new, render(survey, new))

    if state.stage == "consent":
        if cmd == "back" and not state.audience_fixed:
            new = replace(bumped, stage="audience", audience=None)
            return StepResult(new, render(survey, new))
        choice = _match_choice(
            (("yes", t.get("consent_yes", aud)), ("no", t.get("consent_no", aud))), inbound
        )
        if choice == "no":
            text = t.get("declined", aud) + "\n\n" + t.get("danger", aud)
            return StepResult(
                replace(bumped, paused=True), (Reply("info", text, stage="declined"),)
            )
        if choice != "yes":
            return StepResult(
                state, (Reply("error", t.get("pick_one", aud)), *render(survey, state))
            )
        new, done = _advance(survey, bumped, None, replies, withdrawal_code)
        return StepResult(new, tuple(replies), completed=done)

    # stage == "question"
    q = _current_question(survey, state)
    if q is None:  # the bank changed under a live conversation: carry on with what exists
        new, done = _advance(survey, bumped, None, replies, withdrawal_code)
        return StepResult(new, tuple(replies), completed=done)
    if inbound.question_id is not None and inbound.question_id != q.id:
        return StepResult(state, (Reply("error", t.get("stale", aud)), *render(survey, state)))
    if cmd == "back":
        if not state.history:
            return StepResult(
                state, (Reply("info", t.get("first_question", aud)), *render(survey, state))
            )
        prev = state.history[-1]
        new = replace(bumped, current=prev, history=state.history[:-1])
        return StepResult(new, (Reply("info", t.get("going_back", aud)), *render(survey, new)))
    if cmd == "skip":
        answers = {**state.answers, q.id: None}
        retracted = _invalidated(survey, state.audience or "", answers)
        for r in retracted:
            answers.pop(r, None)
        new = replace(bumped, answers=answers, history=(*state.history, q.id))
        new, done = _advance(survey, new, q.id, replies, withdrawal_code)
        return StepResult(new, tuple(replies), retracted=retracted, completed=done)

    event, error = _answer(survey, state, q, inbound)
    if event is None:
        return StepResult(state, (Reply("error", error), *render(survey, state)))
    answers = {**state.answers, q.id: event.choice if event.choice is not None else "*"}
    retracted = _invalidated(survey, state.audience or "", answers)
    for r in retracted:
        answers.pop(r, None)
    new = replace(bumped, answers=answers, history=(*state.history, q.id))
    new, done = _advance(survey, new, q.id, replies, withdrawal_code)
    return StepResult(new, tuple(replies), answers=(event,), retracted=retracted, completed=done)


def _answer(
    survey: Survey, state: State, q: Question, inbound: Inbound
) -> tuple[AnswerEvent | None, str]:
    t, aud = survey.texts, state.audience
    if q.type == "text":
        if inbound.choice is not None or inbound.text is None:
            return None, t.get("empty_answer", aud)
        text = clean_text(inbound.text)
        if not text:
            return None, t.get("empty_answer", aud)
        if len(text) > q.max_length:
            return None, t.get("too_long", aud, limit=f"{q.max_length:,}", length=f"{len(text):,}")
        return AnswerEvent(q.id, q.priority, text), ""
    choices = tuple((o.key, o.label(state.audience or "child")) for o in q.choices())
    key = _match_choice(choices, inbound)
    if key is None:
        return None, t.get("pick_one", aud)
    return AnswerEvent(q.id, q.priority, dict(choices)[key], key), ""


def _invalidated(
    survey: Survey, audience: str, answers: Mapping[str, str | None]
) -> tuple[str, ...]:
    """Return answered questions whose screening answer has changed so they no longer apply."""
    out: list[str] = []
    live = dict(answers)
    for q in survey.questions(audience):
        if q.id in live and q.show_if is not None and not q.show_if.holds(live):
            out.append(q.id)
            live.pop(q.id)
    return tuple(out)
