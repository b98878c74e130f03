"""Write a service's own questions: priorities and consultations, questions, versions, order.

Every change is checked whole before anything is written: the question as a bank file would
hold it (``catalogue``'s own checks), hard limits on its wording (``core.wording``), its
follow-up (an earlier question of the same priority, never itself), its id (used nowhere
else), and the Welsh an open round offered in Welsh needs. A change that fails raises
``QuestionInvalid`` with a message naming the question, and nothing is added to the session.

A question that has been asked is frozen: an open round asks it, or someone answered it.
Editing it adds the next version (``name.v2``) in its place and retires this one, so every
answer keeps pointing at the wording it answered; removing it retires it. A question never
asked is changed in place, or deleted.

Each change replaces the ``catalogue_stamp``, first (on PostgreSQL the row lock makes two
leads' changes take turns), and is recorded in the audit log with ids only.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from surveys.core import wording
from surveys.core.catalogue import QUESTION_TYPES, BankError, Catalogue
from surveys.core.vocabulary import AUDIENCE_LABELS, AUDIENCES, ENGLISH, LANGUAGE_NAMES, LANGUAGES
from surveys.services import audit
from surveys.services.questions.building import (
    CHANGED,
    LIVE,
    RETIRED,
    build,
    load_rows,
    position_key,
)
from surveys.storage.models import (
    Answer,
    CatalogueStamp,
    LocalBank,
    LocalQuestion,
    Round,
    utcnow,
)

PRIORITY, CONSULTATION = "priority", "consultation"
KINDS: dict[str, str] = {PRIORITY: "Local priority", CONSULTATION: "Consultation"}
#: Names under a national priority start so, so the national banks can never collide.
LOCAL_PREFIX = "local_"
_PART_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_VERSION_RE = re.compile(r"\.v\d+$")
#: Words left out of an id made from a question's wording.
_STOP = frozenset(
    re.findall(
        r"[a-z]+",
        """a an and are as at be but by can could did do does for from had has have how i if
        in is it its me my of on or our should so that the their them there they this to was
        we were what when where which who why will with would you your yours""",
    )
)
RESERVED_KEYS = frozenset({"general", "local"})


class QuestionInvalid(ValueError):
    """A change cannot be saved; the message says why, naming the question or priority."""

    def __init__(self, message: str, *, question: str | None = None):
        self.question = question
        super().__init__(message)


@dataclass(frozen=True)
class Saved:
    """What a change did, and the sentence that tells the lead."""

    qid: str
    name: str
    priority: str
    version: int
    message: str
    new_version: bool = False
    asked_in: tuple[str, ...] = ()  # open rounds asking it
    answers: int = 0
    changed: bool = True


@dataclass(frozen=True)
class Freeze:
    """Why a question version may no longer change: the open rounds asking it, its answers."""

    rounds: tuple[str, ...]
    answers: int

    @property
    def frozen(self) -> bool:
        """Return True when editing must add a new version."""
        return bool(self.rounds or self.answers)


# ---- reading -------------------------------------------------------------------------------
def local_banks(session: Session) -> list[LocalBank]:
    """Return the service's own priorities and consultations, oldest first."""
    return list(session.scalars(select(LocalBank).order_by(LocalBank.id)))


def local_bank(session: Session, key: str) -> LocalBank:
    """Return one of the service's own priorities, or raise LookupError."""
    bank = session.scalar(select(LocalBank).where(LocalBank.key == key))
    if bank is None:
        raise LookupError(key)
    return bank


def questions_under(session: Session, priority: str) -> list[LocalQuestion]:
    """Return the questions a service asks under a priority, in the order they are asked."""
    rows = session.scalars(
        select(LocalQuestion).where(
            LocalQuestion.priority == priority, LocalQuestion.status == LIVE
        )
    )
    return sorted(rows, key=position_key)


def versions_of(session: Session, name: str) -> list[LocalQuestion]:
    """Return every version of a question, newest first."""
    return list(
        session.scalars(
            select(LocalQuestion)
            .where(LocalQuestion.name == name)
            .order_by(LocalQuestion.version.desc())
        )
    )


def live_question(session: Session, name_or_qid: str) -> LocalQuestion:
    """Return the version of a question asked now (by its name or any version's id)."""
    name = _VERSION_RE.sub("", name_or_qid or "")
    row = session.scalar(
        select(LocalQuestion).where(LocalQuestion.name == name, LocalQuestion.status == LIVE)
    )
    if row is None:
        raise LookupError(name_or_qid)
    return row


def open_rounds_asking(session: Session, priority: str) -> list[Round]:
    """Return the open rounds that ask a priority's questions (every round asks general)."""
    rounds = session.scalars(select(Round).where(Round.status == "open").order_by(Round.id))
    return [r for r in rounds if priority == "general" or priority in (r.priorities or [])]


def freeze(session: Session, row: LocalQuestion) -> Freeze:
    """Return the open rounds asking a question version and how many answers it has."""
    answers = session.scalar(
        select(func.count()).select_from(Answer).where(Answer.question_id == row.qid)
    )
    codes = tuple(r.code for r in open_rounds_asking(session, row.priority))
    return Freeze(codes, int(answers or 0))


# ---- priorities and consultations ----------------------------------------------------------
def create_bank(
    session: Session,
    base: Catalogue,
    *,
    title: str,
    purpose: str,
    kind: str = PRIORITY,
    key: str | None = None,
    title_cy: str | None = None,
    actor: Any = None,
) -> LocalBank:
    """Create a local priority or a one-off consultation (it is asked once it has questions)."""
    title, purpose = _one_line(title), (purpose or "").strip()
    title_cy = _one_line(title_cy or "") or None
    if kind not in KINDS:
        raise QuestionInvalid(f"A priority is a {' or a '.join(KINDS)}, not {kind!r}.")
    _check_bank_words(title, purpose, title_cy)
    _touch(session)
    taken = set(base.keys) | RESERVED_KEYS | {b.key for b in local_banks(session)}
    if key is None:
        key = _unique(_slug(title) or "local_priority", taken)
    elif not _KEY_RE.match(key):
        raise QuestionInvalid(
            f"The key {key!r} must be 2 to 40 lower-case letters, digits and _, "
            "starting with a letter."
        )
    elif key in taken:
        raise QuestionInvalid(f"The key {key!r} is used already: choose another.")
    bank = LocalBank(
        key=key,
        kind=kind,
        title=title,
        title_cy=title_cy,
        purpose=purpose,
        created_by=audit.actor_id(actor),
    )
    session.add(bank)
    session.flush()
    audit.record(session, "local_priority_created", actor=actor, target=f"priority:{key}")
    return bank


def update_bank(
    session: Session,
    base: Catalogue,
    key: str,
    *,
    title: str,
    purpose: str,
    title_cy: str | None = None,
    actor: Any = None,
) -> LocalBank:
    """Change a local priority's title and purpose (its key stays: answers are filed by it)."""
    bank = local_bank(session, key)
    title, purpose = _one_line(title), (purpose or "").strip()
    title_cy = _one_line(title_cy or "") or None
    _check_bank_words(title, purpose, title_cy)
    if not title_cy:
        welsh = [r.code for r in open_rounds_asking(session, key) if "cy" in (r.languages or [])]
        if welsh and questions_under(session, key):
            raise QuestionInvalid(
                f"Round {welsh[0]} is open in Welsh and asks this priority: keep its Welsh title."
            )
    _touch(session)
    bank.title, bank.purpose, bank.title_cy = title, purpose, title_cy
    audit.record(session, "local_priority_edited", actor=actor, target=f"priority:{key}")
    return bank


def _check_bank_words(title: str, purpose: str, title_cy: str | None) -> None:
    if not title or len(title) > 200:
        raise QuestionInvalid("Please give a title of 1 to 200 characters.")
    if title_cy is not None and len(title_cy) > 200:
        raise QuestionInvalid("Please keep the Welsh title to 200 characters.")
    if not purpose:
        raise QuestionInvalid(
            "Please say what the priority or consultation is about, in a sentence or two: "
            "it is printed in the plan and used to file answers."
        )
    if len(purpose) > 2000:
        raise QuestionInvalid("Please keep the purpose to 2,000 characters.")


# ---- questions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Draft:
    """A change checked whole and not written: the catalogue it would make, and the version."""

    catalogue: Catalogue
    row: LocalQuestion  # the version that would be asked (not in the session)
    rounds: tuple[Round, ...] = ()  # open rounds asking its priority
    replaces: LocalQuestion | None = None  # the version edited (in place or by a new one)
    frozen: Freeze | None = None

    @property
    def new_version(self) -> bool:
        """Return True when saving adds a version instead of changing this one."""
        return self.frozen is not None and self.frozen.frozen


def draft(
    session: Session,
    base: Catalogue,
    *,
    priority: str,
    spec: Mapping[str, Any],
    name: str | None = None,
    ask: bool = True,
) -> Draft:
    """Check a question as the builder holds it, saving nothing: an edit when ``name`` is
    asked now, else a new question. Raises QuestionInvalid as saving would."""
    spec = clean_spec(spec)
    banks, rows = _rows(session)
    current = next((r for r in rows if r.name == name and r.status == LIVE), None)
    if current is not None:
        return _plan_edit(session, base, banks, rows, current, spec)
    return _plan_add(session, base, banks, rows, priority, spec, name, ask)


def _plan_add(
    session: Session,
    base: Catalogue,
    banks: list[LocalBank],
    rows: list[LocalQuestion],
    priority: str,
    spec: dict[str, Any],
    name: str | None,
    ask: bool,
) -> Draft:
    _require_priority(base, banks, priority)
    if name is None:
        name = _new_name(base, rows, priority, spec)
    else:
        _check_name(base, rows, priority, name)
    _check_words(name, spec)
    live = [r for r in rows if r.status == LIVE and r.priority == priority]
    row = LocalQuestion(
        qid=name,
        name=name,
        version=1,
        priority=priority,
        position=max((r.position for r in live), default=0) + 1,
        spec=spec,
        status=LIVE if ask else RETIRED,
        retired_at=None if ask else utcnow(),
    )
    _check_follow_up(base, rows, row)
    catalogue = _check_whole(base, banks, [*rows, row], name)
    rounds = tuple(open_rounds_asking(session, priority)) if ask else ()
    _check_welsh(catalogue, rounds, priority, row.qid, name)
    return Draft(catalogue, row, rounds)


def _plan_edit(
    session: Session,
    base: Catalogue,
    banks: list[LocalBank],
    rows: list[LocalQuestion],
    row: LocalQuestion,
    spec: dict[str, Any],
) -> Draft:
    _check_words(row.name, spec)
    frozen = freeze(session, row)
    if spec == row.spec:
        after = rows
        new = row
    elif frozen.frozen:
        qid = _next_qid(rows, row)
        new = LocalQuestion(
            qid=qid,
            name=row.name,
            version=int(qid.rsplit(".v", 1)[1]),
            priority=row.priority,
            position=row.position,
            spec=spec,
            status=LIVE,
        )
        after = [_copy(r, status=RETIRED) if r is row else r for r in rows] + [new]
    else:
        new = _copy(row, spec=spec)
        after = [new if r is row else r for r in rows]
    _check_follow_up(base, rows, new)
    catalogue = _check_whole(base, banks, after, new.qid)
    rounds = tuple(open_rounds_asking(session, row.priority))
    _check_welsh(catalogue, rounds, row.priority, new.qid, row.name)
    return Draft(catalogue, new, rounds, row, frozen)


def add_question(
    session: Session,
    base: Catalogue,
    *,
    priority: str,
    spec: Mapping[str, Any],
    name: str | None = None,
    ask: bool = True,
    actor: Any = None,
) -> Saved:
    """Add a question at the end of a priority's questions and return what was saved.

    ``spec`` is the question as a bank file holds it, without ``id``: ``type``, ``text``
    (audience -> language -> wording), and as needed ``options``, ``show_if``, ``help``,
    ``max_length``. ``name`` is its id (made from the wording when not given). ``ask=False``
    keeps a question only for answers brought in from elsewhere: it is never asked.
    """
    banks, rows = _rows(session)
    pending = _plan_add(session, base, banks, rows, priority, clean_spec(spec), name, ask)
    row = pending.row
    row.created_by = audit.actor_id(actor)
    _touch(session)
    session.add(row)
    session.flush()
    audit.record(
        session,
        "question_added",
        actor=actor,
        target=f"question:{row.qid}",
        details={"priority": priority, "asked": ask},
    )
    codes = tuple(r.code for r in pending.rounds)
    message = f"Question {row.qid} added."
    if codes:
        message += f" {_rounds(codes)} open: people asked from now on will see it."
    return Saved(row.qid, row.name, priority, 1, message, asked_in=codes)


def edit_question(
    session: Session,
    base: Catalogue,
    name: str,
    spec: Mapping[str, Any],
    *,
    actor: Any = None,
) -> Saved:
    """Change a question: in place if never asked, else as its next version (said so)."""
    spec = clean_spec(spec)
    banks, rows = _rows(session)
    row = _live(rows, name)
    if spec == row.spec:
        return Saved(
            row.qid, row.name, row.priority, row.version, "Nothing changed.", changed=False
        )
    pending = _plan_edit(session, base, banks, rows, row, spec)
    frozen = pending.frozen
    assert frozen is not None
    _touch(session)
    if pending.new_version:
        new = pending.row
        new.created_by = audit.actor_id(actor)
        row.status, row.retired_at = RETIRED, utcnow()
        session.flush()  # one live version at a time, even mid-transaction
        session.add(new)
        session.flush()
        audit.record(
            session,
            "question_version",
            actor=actor,
            target=f"question:{new.qid}",
            details={"replaces": row.qid, "answers": frozen.answers},
        )
        return Saved(
            new.qid,
            row.name,
            row.priority,
            new.version,
            _new_version_message(row.qid, new.qid, frozen),
            new_version=True,
            asked_in=frozen.rounds,
            answers=frozen.answers,
        )
    row.spec = spec
    audit.record(session, "question_edited", actor=actor, target=f"question:{row.qid}")
    return Saved(row.qid, row.name, row.priority, row.version, f"Question {row.qid} saved.")


def remove_question(session: Session, base: Catalogue, name: str, *, actor: Any = None) -> Saved:
    """Stop asking a question: deleted if never asked, else kept for its answers."""
    banks, rows = _rows(session)
    row = _live(rows, name)
    followers = [
        r.qid
        for r in rows
        if r.status == LIVE
        and r is not row
        and (r.spec.get("show_if") or {}).get("question") in (row.name, row.qid)
    ]
    if followers:
        raise QuestionInvalid(
            f"{', '.join(followers)} follows up on {row.qid}: remove it first, or change "
            "which question it follows.",
            question=row.qid,
        )
    frozen = freeze(session, row)
    kept = frozen.frozen or any(r.name == row.name and r is not row for r in rows)
    _check_whole(base, banks, [_copy(r, status=RETIRED) if r is row else r for r in rows], row.qid)
    _touch(session)
    if kept:
        row.status, row.retired_at = RETIRED, utcnow()
        message = (
            f"Question {row.qid} is no longer asked. It is kept, with the wording its "
            f"{_answers(frozen.answers)} answered."
        )
        if frozen.rounds:
            message += f" {_rounds(frozen.rounds)} open: people asked from now on will not see it."
    else:
        session.delete(row)
        message = f"Question {row.qid} deleted."
    session.flush()
    audit.record(
        session,
        "question_removed",
        actor=actor,
        target=f"question:{row.qid}",
        details={"kept": kept, "answers": frozen.answers},
    )
    return Saved(
        row.qid,
        row.name,
        row.priority,
        row.version,
        message,
        asked_in=frozen.rounds,
        answers=frozen.answers,
    )


def move_question(
    session: Session, base: Catalogue, name: str, offset: int, *, actor: Any = None
) -> Saved:
    """Move a question up (``-1``) or down (``+1``) among its priority's questions."""
    banks, rows = _rows(session)
    row = _live(rows, name)
    order = sorted(
        (r for r in rows if r.status == LIVE and r.priority == row.priority), key=position_key
    )
    i = order.index(row)
    j = i + (1 if offset > 0 else -1)
    if offset == 0 or not 0 <= j < len(order):
        return Saved(row.qid, row.name, row.priority, row.version, "Nothing moved.", changed=False)
    order[i], order[j] = order[j], order[i]
    return _set_positions(session, base, banks, rows, order, row, actor)


def set_order(
    session: Session, base: Catalogue, priority: str, names: Sequence[str], *, actor: Any = None
) -> None:
    """Ask a priority's questions in this order (names not given keep their place after)."""
    banks, rows = _rows(session)
    live = sorted(
        (r for r in rows if r.status == LIVE and r.priority == priority), key=position_key
    )
    rank = {n: i for i, n in enumerate(names)}
    order = sorted(live, key=lambda r: (rank.get(r.name, len(rank)), position_key(r)))
    if order != live:
        _set_positions(session, base, banks, rows, order, None, actor)


def _set_positions(
    session: Session,
    base: Catalogue,
    banks: list[LocalBank],
    rows: list[LocalQuestion],
    order: list[LocalQuestion],
    moved: LocalQuestion | None,
    actor: Any,
) -> Saved:
    positions = {id(r): k for k, r in enumerate(order, start=1)}
    after = [_copy(r, position=positions[id(r)]) if id(r) in positions else r for r in rows]
    what = moved.qid if moved is not None else order[0].qid
    _check_whole(base, banks, after, what)
    _touch(session)
    for r in order:
        r.position = positions[id(r)]
    session.flush()
    audit.record(
        session, "questions_reordered", actor=actor, target=f"priority:{order[0].priority}"
    )
    if moved is None:
        return Saved(what, order[0].name, order[0].priority, 1, "Order saved.")
    return Saved(
        moved.qid, moved.name, moved.priority, moved.version, f"Question {moved.qid} moved."
    )


# ---- checks --------------------------------------------------------------------------------
def clean_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return a question's fields trimmed, empty wording dropped, in one stored shape.

    ``text`` and ``help`` become audience -> language -> wording; an option's ``label``
    language -> wording (or audience -> language -> wording). Anything unexpected is kept
    as given, for the catalogue's checks to name.
    """
    if not isinstance(spec, Mapping):
        raise QuestionInvalid("A question must be given as its fields (type, text, ...).")
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "id":
            continue
        if key in ("text", "help"):
            value = _clean_wording(value, allow_default=key == "help")
            if key == "help" and not value:
                continue
        elif key == "options":
            if isinstance(value, list):
                value = [_clean_option(o) for o in value]
            if spec.get("type") != "choice" and not value:
                continue
        elif key == "show_if" and not value:
            continue
        elif isinstance(value, str):
            value = value.strip()
        out[str(key)] = value
    return out


def _clean_wording(raw: Any, *, allow_default: bool) -> Any:
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw:
            return {}
        return (
            {"default": {ENGLISH: raw}} if allow_default else {a: {ENGLISH: raw} for a in AUDIENCES}
        )
    if not isinstance(raw, Mapping):
        return raw
    if raw and set(raw) <= set(LANGUAGES):
        words = _clean_languages(raw)
        if not words:
            return {}
        return {"default": words} if allow_default else {a: dict(words) for a in AUDIENCES}
    out = {}
    for aud, words in raw.items():
        cleaned = _clean_languages(words) if isinstance(words, Mapping) else words
        if isinstance(cleaned, str):
            cleaned = {ENGLISH: cleaned.strip()} if cleaned.strip() else {}
        if cleaned:
            out[str(aud)] = cleaned
    return out


def _clean_languages(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for lang, text in raw.items():
        if isinstance(text, str):
            text = text.strip()
            if not text:
                continue
        out[str(lang)] = text
    return out


def _clean_option(raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    out = dict(raw)
    if isinstance(out.get("key"), str):
        out["key"] = out["key"].strip()
    label = out.get("label")
    if isinstance(label, str):
        out["label"] = {ENGLISH: label.strip()} if label.strip() else {}
    elif isinstance(label, Mapping):
        if set(label) <= set(LANGUAGES):
            out["label"] = _clean_languages(label)
        else:
            out["label"] = {
                str(a): (_clean_languages(w) if isinstance(w, Mapping) else w)
                for a, w in label.items()
            }
    return out


def _describe(what: str, aud: str, lang: str) -> str:
    who = "everyone" if aud == "default" else AUDIENCE_LABELS.get(aud, aud).lower()
    return f"the {what} for {who} in {LANGUAGE_NAMES.get(lang, lang)}"


def _check_words(name: str, spec: Mapping[str, Any]) -> None:
    """Refuse empty wording and wording far too long to be a question."""
    if spec.get("type") not in QUESTION_TYPES:
        raise QuestionInvalid(
            f"Question {name}: choose its type: {', '.join(QUESTION_TYPES)}.", question=name
        )
    text = spec.get("text")
    if not isinstance(text, Mapping) or not any(
        isinstance(w, Mapping) and (w.get(ENGLISH) or "").strip() for w in text.values()
    ):
        raise QuestionInvalid(
            f"Question {name}: its wording is empty. Give the English wording for at least "
            "one audience.",
            question=name,
        )
    found: list[str] = []
    for field, kind in (("text", "text"), ("help", "help")):
        for aud, words in (spec.get(field) or {}).items():
            if isinstance(words, Mapping):
                for lang, t in words.items():
                    if isinstance(t, str):
                        found += [
                            f"{_describe('wording' if kind == 'text' else 'help', aud, lang)} {p}"
                            for p in wording.hard_problems(t, kind)
                        ]
    for option in spec.get("options") or []:
        if isinstance(option, Mapping) and isinstance(option.get("label"), Mapping):
            label = option["label"]
            flat = label.items() if set(label) <= set(LANGUAGES) else ()
            for lang, t in flat:
                if isinstance(t, str):
                    found += [
                        f"answer {option.get('key')!r} in {LANGUAGE_NAMES.get(lang, lang)} {p}"
                        for p in wording.hard_problems(t, "label")
                    ]
    if found:
        raise QuestionInvalid(f"Question {name}: {'; '.join(found)}.", question=name)


def _check_follow_up(base: Catalogue, rows: list[LocalQuestion], row: LocalQuestion) -> None:
    """Refuse a follow-up to itself, to a later question, or to one in another priority."""
    cond = row.spec.get("show_if")
    if not isinstance(cond, Mapping) or not isinstance(cond.get("question"), str):
        return
    target = _VERSION_RE.sub("", cond["question"])
    if target == row.name:
        raise QuestionInvalid(
            f"Question {row.qid} cannot be a follow-up to itself: choose an earlier question.",
            question=row.qid,
        )
    prio = target.split(".", 1)[0]
    if prio != row.priority:
        raise QuestionInvalid(
            f"Question {row.qid} follows {target}, which is under another priority: a "
            "follow-up must follow a question of its own priority.",
            question=row.qid,
        )
    live = {r.name: r for r in rows if r.status == LIVE and r.priority == row.priority}
    if target in live:
        if position_key(live[target]) > position_key(row):
            raise QuestionInvalid(
                f"Question {row.qid} follows {target}, which comes after it: a follow-up "
                "must come after the question it follows. Move it down first.",
                question=row.qid,
            )
        return
    if prio in base.keys and any(q.id == target for q in base.bank(prio).questions):
        return  # a national question: every local one under it comes after
    raise QuestionInvalid(
        f"Question {row.qid} follows {target}, which is not a question of this priority.",
        question=row.qid,
    )


def _check_whole(
    base: Catalogue, banks: list[LocalBank], rows: list[LocalQuestion], what: str
) -> Catalogue:
    """Return the catalogue with the change, or refuse it with the catalogue's reason."""
    try:
        return build(base, banks, rows, strict=True).catalogue
    except BankError as exc:
        raise QuestionInvalid(_friendly(exc, base), question=exc.question or what) from None


def _friendly(exc: BankError, base: Catalogue) -> str:
    where = f"Question {exc.question}" if exc.question else exc.file
    reason = exc.reason
    if "is not an earlier question in the same bank" in reason:
        reason = reason.replace(
            "which is not an earlier question in the same bank",
            "which does not come before it in this priority: a follow-up must come after "
            "the question it follows",
        )
    if reason.startswith("show_if"):
        reason = "its follow-up rule" + reason[len("show_if") :]
    return f"{where}: {reason}."


def _check_welsh(
    catalogue: Catalogue, rounds: Iterable[Round], priority: str, qid: str, name: str
) -> None:
    """Refuse a question missing Welsh that an open round offered in Welsh would ask."""
    for rnd in rounds:
        for lang in rnd.languages or ():
            if lang == ENGLISH:
                continue
            missing = [
                line.rsplit(": ", 1)[-1]
                for line in catalogue.missing(lang, [priority], rnd.audiences)
                if f": {qid}: " in line or line.endswith(": title")
            ]
            if missing:
                raise QuestionInvalid(
                    f"Question {name}: round {rnd.code} is open in {LANGUAGE_NAMES[lang]} and "
                    f"asks this priority, so it needs {LANGUAGE_NAMES[lang]} for: "
                    f"{'; '.join(missing[:6])}.",
                    question=name,
                )


def _require_priority(base: Catalogue, banks: list[LocalBank], priority: str) -> None:
    if priority not in base.keys and priority not in {b.key for b in banks}:
        raise QuestionInvalid(f"There is no priority {priority!r} to add a question to.")


def _check_name(base: Catalogue, rows: list[LocalQuestion], priority: str, name: str) -> None:
    part = name[len(priority) + 1 :] if name.startswith(priority + ".") else ""
    if not _PART_RE.match(part):
        raise QuestionInvalid(
            f"The id {name!r} must be {priority!r}, a dot, then up to 40 lower-case letters, "
            "digits and _ (starting with a letter).",
            question=name,
        )
    if priority in base.keys and not part.startswith(LOCAL_PREFIX):
        raise QuestionInvalid(
            f"The id {name!r} is under a national priority: it must start with "
            f"'{priority}.{LOCAL_PREFIX}', so it never clashes with the national questions.",
            question=name,
        )
    if _taken(base, rows, name):
        raise QuestionInvalid(
            f"The id {name!r} is used by another question already: choose another.",
            question=name,
        )


def _taken(base: Catalogue, rows: list[LocalQuestion], name: str) -> bool:
    try:
        base.question(name)
    except KeyError:
        return any(r.name == name or r.qid == name for r in rows)
    return True


def _new_name(
    base: Catalogue, rows: list[LocalQuestion], priority: str, spec: Mapping[str, Any]
) -> str:
    text = next(
        (w.get(ENGLISH, "") for w in (spec.get("text") or {}).values() if isinstance(w, Mapping)),
        "",
    )
    slug = _slug(text if isinstance(text, str) else "") or "question"
    if priority in base.keys:
        slug = (LOCAL_PREFIX + slug)[:40].rstrip("_")
    taken = {r.name for r in rows} | {r.qid for r in rows}
    stem = f"{priority}.{slug}"
    candidate, n = stem, 1
    while candidate in taken or _taken(base, rows, candidate):
        n += 1
        candidate = f"{stem[: 128 - 4]}_{n}"
    return candidate


def _next_qid(rows: list[LocalQuestion], row: LocalQuestion) -> str:
    taken = {r.qid for r in rows}
    version = max(r.version for r in rows if r.name == row.name) + 1
    while f"{row.name}.v{version}" in taken:
        version += 1
    return f"{row.name}.v{version}"


# ---- helpers -------------------------------------------------------------------------------
def _rows(session: Session) -> tuple[list[LocalBank], list[LocalQuestion]]:
    session.flush()
    return load_rows(session)


def _live(rows: list[LocalQuestion], name: str) -> LocalQuestion:
    wanted = _VERSION_RE.sub("", name or "")
    for r in rows:
        if r.name == wanted and r.status == LIVE:
            return r
    if any(r.name == wanted for r in rows):
        raise QuestionInvalid(f"Question {wanted} is no longer asked: it cannot be changed.")
    raise LookupError(name)


def _copy(row: LocalQuestion, **changes: Any) -> LocalQuestion:
    """Return a detached copy of a row with changes (checked before anything is written)."""
    fields = {
        c: getattr(row, c)
        for c in ("id", "qid", "name", "version", "priority", "position", "spec", "status")
    }
    return LocalQuestion(**{**fields, **changes})


def _touch(session: Session) -> None:
    """Replace the catalogue stamp: every process rebuilds its catalogue on its next use."""
    session.info[CHANGED] = True
    stamp, now = uuid.uuid4().hex, utcnow()
    done = session.execute(
        update(CatalogueStamp).where(CatalogueStamp.id == 1).values(stamp=stamp, changed_at=now)
    )
    if not getattr(done, "rowcount", 0):
        session.add(CatalogueStamp(id=1, stamp=stamp, changed_at=now))
        session.flush()


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    kept = [w for w in re.findall(r"[a-z0-9]+", plain) if w not in _STOP]
    slug = "_".join(kept[:4])[:36].strip("_")
    if slug and not slug[0].isalpha():
        slug = "q_" + slug
    return slug


def _unique(stem: str, taken: set[str]) -> str:
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}_{n}"
    return candidate


def _answers(n: int) -> str:
    return "1 answer" if n == 1 else f"{n} answers"


def _rounds(codes: Sequence[str]) -> str:
    if len(codes) == 1:
        return f"Round {codes[0]} is"
    return f"Rounds {', '.join(codes[:-1])} and {codes[-1]} are"


def _new_version_message(old: str, new: str, frozen: Freeze) -> str:
    why = []
    if len(frozen.rounds) == 1:
        why.append(f"round {frozen.rounds[0]} is open and asks it")
    elif frozen.rounds:
        why.append(
            f"rounds {', '.join(frozen.rounds[:-1])} and {frozen.rounds[-1]} are open and ask it"
        )
    if frozen.answers:
        why.append(f"it has {_answers(frozen.answers)}")
    return (
        f"Saved as a new version, {new}, because {' and '.join(why)}. "
        f"The answers given to {old} keep the wording they answered; "
        "people asked from now on see the new wording."
    )
