"""Themes per question, kept in the database so the lead can shape them and keep them.

The analysis engine (``surveys.analysis.clustering.find_themes``) groups a question's answers;
this module stores its groups as ``Theme`` rows with ``AnswerTheme`` memberships and applies
the lead's edits: rename, merge, split and move answers.

What a recompute keeps (the lead's work is never thrown away):

* **Lead-placed answers.** Answers the lead moved, split off or merged are pinned
  (``AnswerTheme.source == "lead"``): the engine only groups the other answers.
* **Lead labels.** A theme the lead renamed or made has ``source == "lead"``; it keeps its
  label and is never deleted by a recompute. A renamed engine theme follows the new engine
  group that shares most of its answers.
* Engine themes that match a new group keep their id (links keep working); the rest go.

Only live, written answers that are not with the safeguarding lead take part, read in their
redacted form (placeholders removed), so no raw text can reach a label.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from surveys import jobs
from surveys.analysis import clustering as engine
from surveys.services import review
from surveys.storage.models import Answer, AnswerTheme, Job, Round, Theme

log = logging.getLogger("yjvoice.theming")

MAX_LABEL = 200
REPRESENTATIVES = 3
MEMBERS_PAGE = 100
_PLACEHOLDER_RE = re.compile(r"\[[a-z]+(?: \d+)?\]")

Finder = Callable[[Sequence[str]], Sequence[engine.Theme]]


class ThemeNotFound(LookupError):
    """No such theme (or answer) for this round and question."""


class ThemeError(ValueError):
    """A theme edit cannot be done as asked; the message says why, in plain words."""


@dataclass(frozen=True)
class Representative:
    """An answer shown as typical of its theme (publishable text only)."""

    answer_id: int
    text: str


@dataclass(frozen=True)
class ThemeView:
    """One theme as the themes page shows it."""

    id: int
    label: str
    source: str
    key_phrases: tuple[str, ...]
    count: int
    pinned: int  # answers the lead placed
    representatives: tuple[Representative, ...]
    unclear: bool


@dataclass(frozen=True)
class QuestionThemes:
    """A question's themes, and the answers not in any theme yet."""

    question_id: str
    themes: tuple[ThemeView, ...]
    answers: int
    unplaced: int
    hidden: int


@dataclass(frozen=True)
class QuestionSummary:
    """One question of a round on the themes overview."""

    question_id: str
    answers: int
    themes: int


@dataclass(frozen=True)
class Recomputed:
    """What a recompute did."""

    themes: int
    answers: int
    pinned: int
    kept_labels: int


def is_unclear(theme: Theme) -> bool:
    """Return True for the engine's "short or unclear answers" theme."""
    return (
        theme.source == "engine" and theme.label == engine.UNCLEAR_LABEL and not theme.key_phrases
    )


def _clean(text: str | None) -> str:
    return _PLACEHOLDER_RE.sub(" ", text or "")


def _eligible(session: Session, rnd: Round, question_id: str) -> list[tuple[int, str]]:
    """Return (id, redacted text) of the answers that take part in themes, oldest first."""
    rows = session.execute(
        select(Answer.id, Answer.redacted)
        .where(*review.visible_conditions(rnd), Answer.question_id == question_id)
        .order_by(Answer.id)
    ).all()
    return [(aid, text or "") for aid, text in rows]


def _themes(session: Session, rnd: Round, question_id: str) -> list[Theme]:
    return list(
        session.scalars(
            select(Theme)
            .where(Theme.round_id == rnd.id, Theme.question_id == question_id)
            .order_by(Theme.position, Theme.id)
        )
    )


def _memberships(session: Session, theme_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    ids = list(theme_ids)
    if not ids:
        return []
    return [
        (aid, tid, src)
        for aid, tid, src in session.execute(
            select(AnswerTheme.answer_id, AnswerTheme.theme_id, AnswerTheme.source).where(
                AnswerTheme.theme_id.in_(ids)
            )
        )
    ]


# ---- reading --------------------------------------------------------------------------------
def questions(session: Session, rnd: Round) -> list[QuestionSummary]:
    """Return the round's questions that have written answers, with theme counts."""
    answers = dict(
        session.execute(
            select(Answer.question_id, func.count())
            .where(*review.visible_conditions(rnd))
            .group_by(Answer.question_id)
        ).all()
    )
    themes = dict(
        session.execute(
            select(Theme.question_id, func.count())
            .where(Theme.round_id == rnd.id)
            .group_by(Theme.question_id)
        ).all()
    )
    qids = sorted(set(answers) | set(themes))
    return [QuestionSummary(q, answers.get(q, 0), themes.get(q, 0)) for q in qids]


def load(session: Session, rnd: Round, question_id: str) -> QuestionThemes:
    """Return a question's themes with counts and representative answers."""
    eligible = dict(_eligible(session, rnd, question_id))
    themes = _themes(session, rnd, question_id)
    members: dict[int, list[int]] = defaultdict(list)
    pinned: dict[int, int] = defaultdict(int)
    placed: set[int] = set()
    for aid, tid, src in _memberships(session, (t.id for t in themes)):
        if aid in eligible:  # an answer flagged or changed since is not shown
            members[tid].append(aid)
            placed.add(aid)
            pinned[tid] += src == "lead"
    views = []
    for t in themes:
        ids = sorted(members.get(t.id, ()))
        views.append(
            ThemeView(
                id=t.id,
                label=t.label,
                source=t.source,
                key_phrases=tuple(t.key_phrases or ()),
                count=len(ids),
                pinned=pinned.get(t.id, 0),
                representatives=_representatives(t, ids, eligible),
                unclear=is_unclear(t),
            )
        )
    views.sort(key=lambda v: (v.unclear, -v.count, v.id))
    hidden = review.hidden_count(
        session, rnd, review.QueueFilter(question=question_id) if question_id else None
    )
    return QuestionThemes(
        question_id=question_id,
        themes=tuple(views),
        answers=len(eligible),
        unplaced=len(set(eligible) - placed),
        hidden=hidden,
    )


def _representatives(
    theme: Theme, ids: Sequence[int], texts: dict[int, str]
) -> tuple[Representative, ...]:
    """Pick the answers that say most of what the theme's phrases say (deterministic)."""
    phrases = [p.casefold() for p in (theme.key_phrases or ()) if p]
    if theme.source == "lead" or not phrases:
        phrases += [w for w in re.findall(r"[^\W\d_]{3,}", theme.label.casefold())]

    def score(aid: int) -> tuple[int, int, int]:
        text = texts.get(aid, "").casefold()
        hits = sum(1 for p in phrases if p in text)
        # Prefer answers of a readable length (a sentence or two) over one word or an essay.
        return (-hits, abs(len(text) - 90), aid)

    best = sorted(ids[:5000], key=score)[:REPRESENTATIVES]
    return tuple(Representative(aid, texts.get(aid, "")) for aid in best)


def get_theme(session: Session, rnd: Round, question_id: str, theme_id: int) -> Theme:
    """Return a theme of this round and question, or raise ThemeNotFound."""
    theme = session.get(Theme, theme_id)
    if theme is None or theme.round_id != rnd.id or theme.question_id != question_id:
        raise ThemeNotFound(theme_id)
    return theme


@dataclass(frozen=True)
class Member:
    """An answer in a theme, as the theme page lists it."""

    answer_id: int
    text: str
    placed_by_lead: bool


@dataclass(frozen=True)
class MemberPage:
    """One page of a theme's answers."""

    members: tuple[Member, ...]
    total: int
    next_after: int | None


def members(
    session: Session,
    rnd: Round,
    theme: Theme,
    *,
    after: int | None = None,
    limit: int = MEMBERS_PAGE,
) -> MemberPage:
    """Return a page of a theme's answers (publishable text), oldest first."""
    where = [
        *review.visible_conditions(rnd),
        AnswerTheme.theme_id == theme.id,
        Answer.question_id == theme.question_id,
    ]
    base = select(Answer.id, Answer.redacted, AnswerTheme.source).join(
        AnswerTheme, AnswerTheme.answer_id == Answer.id
    )
    stmt = base.where(*where)
    if after is not None:
        stmt = stmt.where(Answer.id > after)
    rows = session.execute(stmt.order_by(Answer.id).limit(limit + 1)).all()
    total = session.scalar(
        select(func.count())
        .select_from(Answer)
        .join(AnswerTheme, AnswerTheme.answer_id == Answer.id)
        .where(*where)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return MemberPage(
        tuple(Member(aid, text or "", src == "lead") for aid, text, src in rows),
        total or 0,
        rows[-1][0] if more and rows else None,
    )


def unplaced(
    session: Session, rnd: Round, question_id: str, limit: int = MEMBERS_PAGE
) -> list[Member]:
    """Return answers of the question that are in no theme yet (newest arrivals)."""
    theme_ids = select(Theme.id).where(Theme.round_id == rnd.id, Theme.question_id == question_id)
    placed = select(AnswerTheme.answer_id).where(AnswerTheme.theme_id.in_(theme_ids))
    rows = session.execute(
        select(Answer.id, Answer.redacted)
        .where(
            *review.visible_conditions(rnd),
            Answer.question_id == question_id,
            Answer.id.not_in(placed),
        )
        .order_by(Answer.id)
        .limit(limit)
    ).all()
    return [Member(aid, text or "", False) for aid, text in rows]


# ---- the engine's grouping, merged with the lead's edits ------------------------------------
def recompute(
    session: Session, rnd: Round, question_id: str, *, finder: Finder | None = None
) -> Recomputed:
    """Group a question's answers again, keeping every edit the lead made."""
    find = finder or engine.find_themes
    eligible = _eligible(session, rnd, question_id)
    ids = {aid for aid, _ in eligible}
    themes = _themes(session, rnd, question_id)
    by_id = {t.id: t for t in themes}
    memb = _memberships(session, by_id)
    pinned = {aid: tid for aid, tid, src in memb if src == "lead" and aid in ids}
    engine_members: dict[int, set[int]] = defaultdict(set)
    for aid, tid, src in memb:
        if src == "engine":
            engine_members[tid].add(aid)

    free = [(aid, text) for aid, text in eligible if aid not in pinned]
    groups = list(find([_clean(text) for _, text in free])) if free else []
    new_sets = [{free[i][0] for i in g.members} for g in groups]

    # Each new group takes over the old theme sharing most of its answers (one to one).
    pairs = sorted(
        (-len(members & engine_members[tid]), gi, tid)
        for gi, members in enumerate(new_sets)
        for tid in engine_members
        if members & engine_members[tid]
    )
    match: dict[int, int] = {}
    taken: set[int] = set()
    for _, gi, tid in pairs:
        if gi not in match and tid not in taken:
            match[gi] = tid
            taken.add(tid)

    # A theme the lead named that lost every engine answer (the engine stopped finding its
    # group) takes back a new group saying the same things: same key phrases, mostly.
    orphans = [
        t
        for t in themes
        if t.source == "lead" and t.id not in taken and t.key_phrases and not engine_members[t.id]
    ]
    for gi, g in enumerate(groups):
        if gi in match or g.unclear or not orphans:
            continue
        phrases = set(g.key_phrases)
        best = max(orphans, key=lambda t: (_jaccard(set(t.key_phrases), phrases), -t.id))
        if _jaccard(set(best.key_phrases), phrases) >= 0.5:
            match[gi] = best.id
            taken.add(best.id)
            orphans.remove(best)

    # Memberships: the engine's go; the lead's stay unless the answer left the question.
    if by_id:
        session.execute(
            delete(AnswerTheme).where(
                AnswerTheme.theme_id.in_(list(by_id)), AnswerTheme.source == "engine"
            )
        )
        stale = [(aid, tid) for aid, tid, src in memb if src == "lead" and aid not in ids]
        for aid, tid in stale:
            session.execute(
                delete(AnswerTheme).where(AnswerTheme.answer_id == aid, AnswerTheme.theme_id == tid)
            )

    kept_labels = 0
    rows: list[dict[str, Any]] = []
    result_ids: list[tuple[int, int, bool]] = []  # (theme id, size, unclear)
    for gi, g in enumerate(groups):
        label = g.label[:MAX_LABEL]
        if gi in match:
            t = by_id[match[gi]]
            t.key_phrases = list(g.key_phrases)
            if t.source == "engine":
                t.label = label
            else:
                kept_labels += 1
        else:
            t = Theme(
                round_id=rnd.id,
                question_id=question_id,
                label=label,
                key_phrases=list(g.key_phrases),
                source="engine",
            )
            session.add(t)
            session.flush()
        rows += [{"answer_id": aid, "theme_id": t.id, "source": "engine"} for aid in new_sets[gi]]
        result_ids.append((t.id, len(new_sets[gi]), g.unclear))
    if rows:
        session.execute(insert(AnswerTheme), rows)

    pinned_in: dict[int, int] = defaultdict(int)
    for tid in pinned.values():
        pinned_in[tid] += 1
    survivors = {tid for tid, _, _ in result_ids}
    for t in themes:
        if t.id in survivors:
            continue
        if t.source == "engine" and not pinned_in.get(t.id):
            session.delete(t)
        else:
            kept_labels += t.source == "lead"
            result_ids.append((t.id, pinned_in.get(t.id, 0), False))
    session.flush()
    _reposition(session, rnd, question_id)
    log.info(
        "themes recomputed round=%s question=%s themes=%d answers=%d pinned=%d",
        rnd.id,
        question_id,
        len(result_ids),
        len(ids),
        len(pinned),
    )
    return Recomputed(len(result_ids), len(ids), len(pinned), kept_labels)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _reposition(session: Session, rnd: Round, question_id: str) -> None:
    """Number the themes largest first, the unclear answers last."""
    themes = _themes(session, rnd, question_id)
    sizes = (
        dict(
            session.execute(
                select(AnswerTheme.theme_id, func.count())
                .where(AnswerTheme.theme_id.in_([t.id for t in themes]))
                .group_by(AnswerTheme.theme_id)
            ).all()
        )
        if themes
        else {}
    )
    order = sorted(themes, key=lambda t: (is_unclear(t), -sizes.get(t.id, 0), t.id))
    for position, t in enumerate(order):
        t.position = position


# ---- the lead's edits ------------------------------------------------------------------------
def _label(label: str | None) -> str:
    text = " ".join((label or "").split())
    if not text:
        raise ThemeError("Give the theme a name.")
    if len(text) > MAX_LABEL:
        raise ThemeError(f"A theme's name can be at most {MAX_LABEL} characters.")
    return text


def rename(theme: Theme, label: str) -> None:
    """Rename a theme; the new name survives every recompute."""
    theme.label = _label(label)
    theme.source = "lead"
    log.info("theme renamed theme=%s", theme.id)


def _pin(
    session: Session, answer_ids: Iterable[int], theme: Theme, question_themes: list[int]
) -> None:
    ids = sorted(set(answer_ids))
    if not ids:
        return
    session.execute(
        delete(AnswerTheme).where(
            AnswerTheme.answer_id.in_(ids), AnswerTheme.theme_id.in_(question_themes)
        )
    )
    session.execute(
        insert(AnswerTheme),
        [{"answer_id": aid, "theme_id": theme.id, "source": "lead"} for aid in ids],
    )


def _question_theme_ids(session: Session, rnd: Round, question_id: str) -> list[int]:
    return list(
        session.scalars(
            select(Theme.id).where(Theme.round_id == rnd.id, Theme.question_id == question_id)
        )
    )


def merge(
    session: Session,
    rnd: Round,
    question_id: str,
    theme_ids: Sequence[int],
    label: str | None = None,
) -> Theme:
    """Merge themes into the first one listed; every answer in them is pinned there."""
    wanted = list(dict.fromkeys(theme_ids))
    if len(wanted) < 2:
        raise ThemeError("Choose at least two themes to merge.")
    themes = [get_theme(session, rnd, question_id, tid) for tid in wanted]
    keep = min(themes, key=lambda t: (t.position, t.id))
    all_ids = _question_theme_ids(session, rnd, question_id)
    members = {aid for aid, _, _ in _memberships(session, wanted)}
    eligible = {aid for aid, _ in _eligible(session, rnd, question_id)}
    if label and label.strip():
        keep.label = _label(label)
    keep.key_phrases = list(dict.fromkeys(p for t in themes for p in (t.key_phrases or ())))
    keep.source = "lead"
    _pin(session, members & eligible, keep, all_ids)
    for t in themes:
        if t.id != keep.id:
            session.delete(t)
    session.flush()
    log.info("themes merged into theme=%s count=%d", keep.id, len(themes))
    return keep


def _check_members(
    session: Session, rnd: Round, question_id: str, answer_ids: Iterable[int]
) -> list[int]:
    ids = sorted(set(answer_ids))
    if not ids:
        raise ThemeError("Select at least one answer first.")
    eligible = {aid for aid, _ in _eligible(session, rnd, question_id)}
    if not set(ids) <= eligible:
        raise ThemeNotFound(sorted(set(ids) - eligible))
    return ids


def split(
    session: Session,
    rnd: Round,
    question_id: str,
    theme: Theme,
    answer_ids: Iterable[int],
    label: str,
) -> Theme:
    """Move some answers of a theme into a new theme of their own."""
    name = _label(label)
    ids = _check_members(session, rnd, question_id, answer_ids)
    inside = {aid for aid, _, _ in _memberships(session, [theme.id])}
    if not set(ids) <= inside:
        raise ThemeNotFound(sorted(set(ids) - inside))
    new = Theme(
        round_id=rnd.id,
        question_id=question_id,
        label=name,
        key_phrases=[],
        source="lead",
        position=theme.position + 1,
    )
    session.add(new)
    session.flush()
    _pin(session, ids, new, _question_theme_ids(session, rnd, question_id))
    log.info("theme split theme=%s new=%s answers=%d", theme.id, new.id, len(ids))
    return new


def move(
    session: Session, rnd: Round, question_id: str, answer_ids: Iterable[int], to: Theme
) -> int:
    """Move answers of the question into a theme (pinned there); return how many."""
    ids = _check_members(session, rnd, question_id, answer_ids)
    _pin(session, ids, to, _question_theme_ids(session, rnd, question_id))
    log.info("answers moved theme=%s answers=%d", to.id, len(ids))
    return len(ids)


def remove(session: Session, theme: Theme) -> None:
    """Delete a theme; its answers are in no theme until moved or the next recompute."""
    session.delete(theme)
    session.flush()
    log.info("theme deleted theme=%s", theme.id)


# ---- every question of a round, as a background job -----------------------------------------
ROUND_JOB = "themes.round"


def round_job_key(round_id: int) -> str:
    """Return the job key of a round's theme discovery (one waits or runs at a time)."""
    return f"{ROUND_JOB}:{round_id}"


def queue_round(
    session: Session, rnd: Round, *, requested_by: int | None = None
) -> tuple[Job, bool]:
    """Queue theme discovery for every question of the round; return (job, newly queued).

    While one is queued or running, asking again returns it instead of queueing a second.
    """
    existing = jobs.active_job(session, round_job_key(rnd.id))
    if existing is not None:
        return existing, False
    job = jobs.enqueue(
        session,
        ROUND_JOB,
        {"round_id": rnd.id},
        key=round_job_key(rnd.id),
        round_id=rnd.id,
        requested_by=requested_by,
    )
    return job, True


@jobs.job(
    ROUND_JOB,
    label="Find themes for every question of a round",
    max_attempts=3,
    backoff=jobs.Backoff(first=30, cap=600),
)
def round_job(ctx: jobs.Context, round_id: int) -> dict[str, Any]:
    """Recompute each question's themes in its own transaction, recording progress.

    After a worker is killed the next attempt skips the questions already done (each
    recompute keeps the lead's edits, so doing one twice changes nothing).
    """
    with ctx.sessions() as session:
        rnd = session.get(Round, round_id)
        if rnd is None:
            return {"questions": 0, "themes": 0, "note": "the round no longer exists"}
        qids = [q.question_id for q in questions(session, rnd)]
    done: list[str] = [q for q in ctx.saved.get("done", []) if q in qids]
    found = int(ctx.saved.get("themes", 0))
    ctx.progress(len(done), len(qids))
    for qid in qids:
        if qid in done:
            continue
        with ctx.sessions.begin() as session:
            rnd = session.get_one(Round, round_id)  # rounds are never deleted
            result = recompute(session, rnd, qid)
        done.append(qid)
        found += result.themes
        ctx.progress(len(done), len(qids), result={"done": done, "themes": found})
    log.info("themes found for a round round=%s questions=%s", round_id, len(qids))
    return {"questions": len(qids), "themes": found, "done": done}
