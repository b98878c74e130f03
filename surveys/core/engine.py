"""The conversation state machine that every channel (web, Telegram, console) shares.

``step(survey, state, inbound) -> StepResult`` is pure and deterministic: the same survey,
state and input always give the same new state, replies and answer events. Adapters
persist the state and answers, and render the replies in their own way (buttons, pages).

Stages: language (only in a round offered in more than one language, when the channel
does not know it yet) -> audience (unless fixed by the invite) -> consent -> question ...
-> done. At any point ``help``, ``skip``, ``back`` and ``stop`` work (typed in the
conversation's language or in English); a stopped conversation resumes where it was on the
next input. A person may switch language at any point (``Inbound(language=...)``, or a whole
message "Cymraeg" / "English" when no question is waiting for words): nothing is lost, the
same step is shown again in the other language.
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
from surveys.core.vocabulary import AUDIENCES, ENGLISH, LANGUAGE_NAMES, LANGUAGES

MESSAGES_FILE = Path(__file__).with_name("messages.yaml")
TYPED_COMMANDS = ("help", "skip", "back", "stop")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PUNCT_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def _fold(word: str) -> str:
    """Return a word without accents ("nôl" -> "nol"): people type Welsh without them."""
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Texts:
    """The engine's wording per audience and language, loaded from ``messages.yaml``.

    ``helpline`` (with the languages it is named in) is a second helpline added after the
    danger line, such as Meic for young people in Wales (settings: SECOND_HELPLINE).
    """

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        helpline: str = "",
        helpline_languages: tuple[str, ...] = (),
    ):
        self._data = data
        self.helpline = helpline
        self.helpline_languages = helpline_languages
        self._typed = {lang: self._typed_words(lang) for lang in LANGUAGES}

    @classmethod
    def load(cls, path: Path = MESSAGES_FILE) -> Texts:
        """Load texts from a YAML file."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def with_helpline(self, helpline: str | None, languages: tuple[str, ...]) -> Texts:
        """Return these texts with a second helpline after the danger line in some languages."""
        if not helpline or not languages:
            return self
        return Texts(self._data, helpline=helpline, helpline_languages=languages)

    def get(self, name: str, audience: str | None, lang: str = ENGLISH, **fmt: Any) -> str:
        """Return one text for an audience (a young person's wording when not known yet).

        In a language a text has no wording in, the English wording is returned.
        """
        value = self._data[name]
        if isinstance(value, dict) and not set(value) <= set(LANGUAGES):
            chain = {"partner": ("partner", "staff"), None: ("child",)}.get(audience, (audience,))
            for key in (*chain, "default"):
                if key in value:
                    value = value[key]
                    break
            else:
                value = next(iter(value.values()))
        text = str(_in_language(value, lang))
        if name == "danger" and self.helpline and lang in self.helpline_languages:
            text += " " + str(_in_language(self._data["second_helpline"], lang)).format(
                helpline=self.helpline
            )
        return text.format(**fmt) if fmt else text

    def for_channel(self, channel: str) -> Texts:
        """Return these texts with a channel's own wording where it has some.

        ``web_help`` replaces ``help`` for the web form ("press Skip", not "say skip").
        """
        prefix = f"{channel}_"
        data = dict(self._data)
        for name, value in self._data.items():
            if name.startswith(prefix) and name[len(prefix) :] in self._data:
                data[name[len(prefix) :]] = value
        return Texts(data, helpline=self.helpline, helpline_languages=self.helpline_languages)

    def label(self, audience: str, lang: str = ENGLISH) -> str:
        """Return the button label for choosing an audience."""
        return str(_in_language(self._data["audience_labels"][audience], lang))

    def names(self) -> tuple[str, ...]:
        """Return the name of every text (not the typed words)."""
        return tuple(k for k in self._data if k != "typed")

    def _typed_words(self, lang: str) -> dict[str, str]:
        """Return typed word -> meaning for one language (English words in every language)."""
        out: dict[str, str] = {}
        for meaning, words in (self._data.get("typed") or {}).items():
            for word_lang in dict.fromkeys((lang, ENGLISH)):
                for word in words.get(word_lang) or ():
                    for form in (str(word).casefold(), _norm(str(word))):
                        if form:
                            out.setdefault(form, str(meaning))
                            if lang != ENGLISH:
                                out.setdefault(_fold(form), str(meaning))
        return out

    def typed(self, text: str, lang: str = ENGLISH) -> str | None:
        """Return what a whole typed message means (help, skip, yes, language...), if anything.

        English words work in every language; in another language, words typed without
        their accents work too.
        """
        table = self._typed.get(lang) or self._typed[ENGLISH]
        raw = text.strip().casefold()
        for form in (raw, _norm(raw)):
            found = table.get(form)
            if found is None and lang != ENGLISH:
                found = table.get(_fold(form))
            if found is not None:
                return found
        return None

    def language_word(self, word: str) -> str | None:
        """Return the language a whole typed message asks for ("cymraeg" -> "cy"), if any."""
        words = (self._data.get("typed") or {}).get("language") or {}
        for lang, names in words.items():
            if word in {_norm(str(n)) for n in names}:
                return str(lang)
        return None


def _in_language(value: Any, lang: str) -> Any:
    """Return the wording in a language from ``{en: ..., cy: ...}`` (English as fallback)."""
    if isinstance(value, dict):
        return value.get(lang, value.get(ENGLISH))
    return value


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
    #: The languages the round is offered in, in the order the service shows them.
    languages: tuple[str, ...] = (ENGLISH,)
    _by_audience: dict[str, tuple[Question, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for aud in self.audiences:
            if aud not in AUDIENCES:
                raise ValueError(f"unknown audience {aud!r}")
        if not self.languages or any(lang not in LANGUAGES for lang in self.languages):
            raise ValueError(f"unknown languages {self.languages!r}")
        for aud in self.audiences:
            self._by_audience[aud] = self.catalogue.questions_for(self.priorities, aud)

    def questions(self, audience: str) -> tuple[Question, ...]:
        """Return the questions this audience is asked, in order."""
        return self._by_audience.get(audience, ())

    def language_for(self, wanted: str | None) -> str:
        """Return the language to use for a wish: it if offered, else the round's first."""
        return wanted if wanted in self.languages else self.languages[0]


@dataclass(frozen=True)
class State:
    """Where one respondent is; JSON-serialisable through ``to_dict``/``from_dict``.

    ``answers`` keeps only what routing needs: a choice's key, ``"*"`` for a text answer,
    None for a skipped question. The words themselves live in the answers table only.
    """

    stage: str = "audience"  # language | audience | consent | question | done
    audience: str | None = None
    audience_fixed: bool = False
    current: str | None = None
    answers: Mapping[str, str | None] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    paused: bool = False
    version: int = 0
    lang: str = ENGLISH

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
            "lang": self.lang,
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
            lang=str(data.get("lang") or ENGLISH),
        )


@dataclass(frozen=True)
class Inbound:
    """One thing a respondent sent: typed text, a tapped choice, a command, or media."""

    text: str | None = None
    choice: str | None = None
    command: str | None = None  # help | skip | back | stop | start
    question_id: str | None = None  # which question a tapped choice or form answered
    media: bool = False  # a sticker, photo, voice note... that cannot be read
    language: str | None = None  # switch to this language (a button, a link, a keyword)


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


def current_versions(state: State, catalogue: Catalogue) -> State:
    """Return a conversation pointed at the questions asked now in place of retired ones.

    A service's question edited while someone is part-way through is asked in its new
    version (``Catalogue.current_ids``): where they are, what they answered and the way
    back are carried over, so follow-ups still follow and nobody starts again.
    """
    ids = catalogue.current_ids
    seen = {state.current, *state.answers, *state.history}
    if not ids or not seen & set(ids):
        return state
    return replace(
        state,
        current=ids.get(state.current, state.current) if state.current else state.current,
        answers={ids.get(q, q): v for q, v in state.answers.items()},
        history=tuple(ids.get(q, q) for q in state.history),
    )


def clean_text(text: str) -> str:
    """Normalise typed text: NFC, no control characters or lone surrogates, trimmed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def _norm(text: str) -> str:
    return _PUNCT_EDGES.sub("", text.casefold()).replace("’", "'")


def command_of(inbound: Inbound, texts: Texts | None = None, lang: str = ENGLISH) -> str | None:
    """Return the command an input carries, typed (in ``lang`` or English) or explicit."""
    if inbound.command:
        return inbound.command
    if inbound.text is not None and inbound.choice is None:
        meaning = (texts or default_texts()).typed(inbound.text, lang)
        return meaning if meaning in TYPED_COMMANDS else None
    return None


def language_of(survey: Survey, state: State, inbound: Inbound) -> str | None:
    """Return the language an input asks to switch to, if it asks for one.

    An explicit request always counts; a typed "Cymraeg" or "English" counts unless a
    question is waiting for words (where it may be the answer).
    """
    if inbound.language is not None:
        return inbound.language
    if inbound.text is None or inbound.choice is not None or inbound.command:
        return None
    if state.stage == "question" and not state.paused:
        q = _current_question(survey, state)
        if q is not None and q.type == "text":
            return None
    return survey.texts.language_word(_norm(inbound.text))


def begin(
    survey: Survey,
    *,
    audience: str | None = None,
    lang: str | None = None,
    hint: str | None = None,
) -> StepResult:
    """Start a conversation: welcome, then the audience question or the consent screen.

    ``lang`` is the language the person chose (a link, a keyword): a language the round is
    not offered in gives the round's first. Without it, a round in one language uses that
    language, and a round in several asks first ("Cymraeg / English"), with ``hint`` (what a
    channel guesses, such as Telegram's language_code) shown first.
    """
    if audience is not None and audience not in survey.audiences:
        raise ValueError(f"audience {audience!r} is not part of this round")
    if audience is None and len(survey.audiences) == 1:
        audience = survey.audiences[0]
    fixed = audience is not None
    stage = "consent" if fixed else "audience"
    if lang is None and len(survey.languages) == 1:
        lang = survey.languages[0]
    if lang is None:
        order = sorted(survey.languages, key=lambda code: code != hint)
        state = State(
            stage="language", audience=audience, audience_fixed=fixed, version=1, lang=order[0]
        )
        return StepResult(state, _language_prompt(survey, tuple(order)))
    lang = survey.language_for(lang)
    state = State(stage=stage, audience=audience, audience_fixed=fixed, version=1, lang=lang)
    welcome = Reply(
        "info", survey.texts.get("welcome", audience, lang, title=survey.title), stage="welcome"
    )
    return StepResult(state, (welcome, *render(survey, state)))


def _language_prompt(survey: Survey, order: tuple[str, ...]) -> tuple[Reply, ...]:
    choices = tuple((code, LANGUAGE_NAMES[code]) for code in order)
    text = survey.texts.get("language_prompt", None)
    return (Reply("prompt", text, choices, stage="language"),)


def render(survey: Survey, state: State, *, withdrawal_code: str = "") -> tuple[Reply, ...]:
    """Return the prompt for where the respondent is now, without changing anything."""
    t, aud, lang = survey.texts, state.audience, state.lang
    if state.stage == "language":
        first = survey.language_for(state.lang)
        order = (first, *(code for code in survey.languages if code != first))
        return _language_prompt(survey, order)
    if state.stage == "audience":
        choices = tuple((a, t.label(a, lang)) for a in survey.audiences)
        return (Reply("prompt", t.get("audience_prompt", aud, lang), choices, stage="audience"),)
    if state.stage == "consent":
        text = t.get("consent", aud, lang) + "\n\n" + t.get("danger", aud, lang)
        choices = (("yes", t.get("consent_yes", aud, lang)), ("no", t.get("consent_no", aud, lang)))
        return (Reply("prompt", text, choices, stage="consent"),)
    if state.stage == "question":
        q = _current_question(survey, state)
        if q is not None:
            return (_question_reply(survey, state, q),)
    text = t.get("finished", aud, lang)
    if withdrawal_code:
        text = t.get("thanks", aud, lang, code=withdrawal_code)
    return (Reply("info", text + "\n\n" + t.get("danger", aud, lang), stage="done"),)


def _question_reply(survey: Survey, state: State, q: Question) -> Reply:
    aud, lang = state.audience or "child", state.lang
    visible = [
        x.id for x in survey.questions(aud) if x.show_if is None or x.show_if.holds(state.answers)
    ]
    position = visible.index(q.id) + 1 if q.id in visible else len(state.history) + 1
    choices = tuple((o.key, o.label(aud, lang)) for o in q.choices())
    return Reply(
        "prompt",
        q.text_for(aud, lang) or "",
        choices,
        question_id=q.id,
        priority=q.priority,
        progress=(position, max(len(visible), position)),
        accepts_text=q.type == "text",
        stage="question",
        help=q.help_for(aud, lang),
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


def _match_choice(
    q_choices: tuple[tuple[str, str], ...],
    inbound: Inbound,
    texts: Texts | None = None,
    lang: str = ENGLISH,
) -> str | None:
    keys = {k for k, _ in q_choices}
    if inbound.choice is not None:
        return inbound.choice if inbound.choice in keys else None
    if inbound.text is None:
        return None
    typed = _norm(clean_text(inbound.text))
    for i, (key, label) in enumerate(q_choices, start=1):
        if typed in (key, _norm(label), str(i), key.replace("_", " ")):
            return key
        if lang != ENGLISH and _fold(typed) == _fold(_norm(label)):
            return key
    meaning = (texts or default_texts()).typed(typed, lang)
    if meaning in ("yes", "no") and meaning in keys:
        return meaning
    return None


def step(
    survey: Survey, state: State, inbound: Inbound, *, withdrawal_code: str = ""
) -> StepResult:
    """Advance one conversation by one input; return the new state, replies and answers."""
    t, aud, lang = survey.texts, state.audience, state.lang
    replies: list[Reply] = []

    wanted = language_of(survey, state, inbound)
    if wanted is not None:
        return _switch_language(survey, state, wanted, withdrawal_code)
    if state.stage == "language":
        choice = _match_choice(
            tuple((code, LANGUAGE_NAMES[code]) for code in survey.languages), inbound, t, lang
        )
        if choice is None:
            return StepResult(state, render(survey, state))
        return _switch_language(survey, state, choice, withdrawal_code)
    cmd = command_of(inbound, t, lang)
    if state.stage == "done":
        return StepResult(state, render(survey, state))
    if cmd == "help":
        text = t.get("help", aud, lang) + "\n\n" + t.get("danger", aud, lang)
        current = render(survey, state)
        if current and current[0].help:
            text = current[0].help + "\n\n" + text
        return StepResult(state, (Reply("info", text, stage="help"), *current))
    if cmd == "stop":
        paused = replace(state, paused=True, version=state.version + 1)
        text = t.get("stopped", aud, lang) + "\n\n" + t.get("danger", aud, lang)
        return StepResult(paused, (Reply("info", text, stage="stopped"),))
    if state.paused:
        resumed = replace(state, paused=False, version=state.version + 1)
        return StepResult(
            resumed,
            (Reply("info", t.get("resumed", aud, lang), stage="resumed"), *render(survey, resumed)),
        )
    if cmd == "start" or inbound.media:
        kind = "media" if inbound.media else None
        pre = (Reply("error", t.get(kind, aud), stage="media"),) if kind else ()
        return StepResult(state, (*pre, *render(survey, state)))

    bumped = replace(state, version=state.version + 1)
    if state.stage == "audience":
        choice = _match_choice(
            tuple((a, t.label(a, lang)) for a in survey.audiences), inbound, t, lang
        )
        if choice is None:
            return StepResult(
                state, (Reply("error", t.get("pick_one", aud, lang)), *render(survey, state))
            )
        new = replace(bumped, stage="consent", audience=choice)
        return StepResult(new, render(survey, new))

    if state.stage == "consent":
        if cmd == "back" and not state.audience_fixed:
            new = replace(bumped, stage="audience", audience=None)
            return StepResult(new, render(survey, new))
        consent = (("yes", t.get("consent_yes", aud, lang)), ("no", t.get("consent_no", aud, lang)))
        choice = _match_choice(consent, inbound, t, lang)
        if choice == "no":
            text = t.get("declined", aud, lang) + "\n\n" + t.get("danger", aud, lang)
            return StepResult(
                replace(bumped, paused=True), (Reply("info", text, stage="declined"),)
            )
        if choice != "yes":
            return StepResult(
                state, (Reply("error", t.get("pick_one", aud, lang)), *render(survey, state))
            )
        new, done = _advance(survey, bumped, None, replies, withdrawal_code)
        return StepResult(new, tuple(replies), completed=done)

    # stage == "question"
    q = _current_question(survey, state)
    if q is None:  # the bank changed under a live conversation: carry on with what exists
        new, done = _advance(survey, bumped, None, replies, withdrawal_code)
        return StepResult(new, tuple(replies), completed=done)
    if inbound.question_id is not None and inbound.question_id != q.id:
        return StepResult(
            state, (Reply("error", t.get("stale", aud, lang)), *render(survey, state))
        )
    if cmd == "back":
        if not state.history:
            return StepResult(
                state, (Reply("info", t.get("first_question", aud, lang)), *render(survey, state))
            )
        prev = state.history[-1]
        new = replace(bumped, current=prev, history=state.history[:-1])
        return StepResult(
            new, (Reply("info", t.get("going_back", aud, lang)), *render(survey, new))
        )
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
    t, aud, lang = survey.texts, state.audience, state.lang
    if q.type == "text":
        if inbound.choice is not None or inbound.text is None:
            return None, t.get("empty_answer", aud, lang)
        text = clean_text(inbound.text)
        if not text:
            return None, t.get("empty_answer", aud, lang)
        if len(text) > q.max_length:
            return None, t.get(
                "too_long", aud, lang, limit=f"{q.max_length:,}", length=f"{len(text):,}"
            )
        return AnswerEvent(q.id, q.priority, text), ""
    choices = tuple((o.key, o.label(state.audience or "child", lang)) for o in q.choices())
    key = _match_choice(choices, inbound, t, lang)
    if key is None:
        return None, t.get("pick_one", aud, lang)
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


def _switch_language(survey: Survey, state: State, wanted: str, withdrawal_code: str) -> StepResult:
    """Show the same step again in another language; nothing answered is touched."""
    t = survey.texts
    if wanted not in survey.languages:
        known = wanted if wanted in LANGUAGES else state.lang
        error = Reply("error", t.get("language_unavailable", state.audience, known))
        return StepResult(
            state, (error, *render(survey, state, withdrawal_code=_done(state, withdrawal_code)))
        )
    new = replace(state, lang=wanted, version=state.version + 1)
    if state.stage == "language":
        new = replace(new, stage="consent" if state.audience_fixed else "audience")
        welcome = Reply(
            "info", t.get("welcome", new.audience, wanted, title=survey.title), stage="welcome"
        )
        return StepResult(new, (welcome, *render(survey, new)))
    return StepResult(new, render(survey, new, withdrawal_code=_done(new, withdrawal_code)))


def _done(state: State, withdrawal_code: str) -> str:
    return withdrawal_code if state.stage == "done" else ""
