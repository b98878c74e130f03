"""A service's own questions as a bank file (YAML), and back: banks stay data.

``export_bank`` writes a priority's questions in the packaged banks' format (the file
``catalogue.load_bank`` reads): a local priority whole; under a national priority, the
service's own questions only. ``import_bank`` reads such a file back with ``load_bank``'s
checks (every message names the file and the question), then adds, changes (a new version
where a question has been asked) and orders the questions, through the same use cases as
the builder. It is all or nothing: on any problem it raises ``QuestionInvalid`` and the
caller's transaction must roll back (``with transaction():`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from sqlalchemy.orm import Session

from surveys.core.catalogue import BankError, Catalogue, parse_bank_text
from surveys.services import audit
from surveys.services.questions.building import LIVE, load_rows, local_orders
from surveys.services.questions.editing import (
    LOCAL_PREFIX,
    PRIORITY,
    QuestionInvalid,
    add_question,
    create_bank,
    edit_question,
    local_bank,
    questions_under,
    set_order,
    update_bank,
)

#: A bank file bigger than this is not a bank of questions.
MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Imported:
    """What reading a bank file did, question by question."""

    priority: str
    created_priority: bool = False
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    new_versions: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    not_in_file: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """Return one sentence for the lead."""
        parts = [
            f"{len(self.added)} added" if self.added else "",
            f"{len(self.changed)} changed" if self.changed else "",
            f"{len(self.new_versions)} saved as new versions" if self.new_versions else "",
            f"{len(self.unchanged)} unchanged" if self.unchanged else "",
        ]
        said = ", ".join(p for p in parts if p) or "nothing to change"
        out = f"Questions of {self.priority!r} read from the file: {said}."
        if self.not_in_file:
            out += f" Not in the file, so left as they were: {', '.join(self.not_in_file)}."
        return out


def export_bank(session: Session, base: Catalogue, priority: str) -> str:
    """Return a priority's own questions as a bank file (YAML), or raise LookupError."""
    rows = questions_under(session, priority)
    if priority in base.keys:
        bank = base.bank(priority)
        title: Any = {"en": bank.title, **bank.titles}
        order, description = bank.order, bank.description
        intro = f"This service's own questions under the national priority {bank.title!r}."
    else:
        local = local_bank(session, priority)
        banks, _ = load_rows(session)
        title = {"en": local.title, **({"cy": local.title_cy} if local.title_cy else {})}
        order, description = local_orders(base, banks)[priority], local.purpose
        intro = f"{local.title}: a {local.kind} of this service."
    if not rows:
        raise LookupError(f"{priority}: no questions of the service's own to export")
    doc = {
        "key": priority,
        "title": title,
        "order": order,
        "description": description,
        "questions": [{"id": r.name, **r.spec} for r in rows],
    }
    header = (
        f"# {intro}\n"
        f"# Exported from YJ Voice on {date.today():%d %B %Y}. The packaged banks' format\n"
        "# (surveys/core/banks/): edit the wording and upload the file to change the\n"
        "# questions; keep each id, which answers are filed under.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def import_bank(
    session: Session,
    base: Catalogue,
    text: str,
    *,
    filename: str = "upload.yaml",
    kind: str = PRIORITY,
    actor: Any = None,
) -> Imported:
    """Read a bank file into the service's questions; raise QuestionInvalid naming the problem."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise QuestionInvalid(
            f"{filename}: the file is over {MAX_FILE_BYTES // 1024} KB: that is not a bank of "
            "questions."
        )
    try:
        bank = parse_bank_text(text, filename)
    except BankError as exc:
        raise QuestionInvalid(f"{exc}.", question=exc.question) from None
    raw_questions = yaml.safe_load(text)["questions"]
    ids = [q.id for q in bank.questions]
    twice = next((i for i in ids if ids.count(i) > 1), None)
    if twice is not None:
        raise QuestionInvalid(
            f"{filename}: question {twice!r}: question id is used twice in the file.",
            question=twice,
        )
    national = bank.key in base.keys
    created = False
    if national:
        own = {q.id for q in base.bank(bank.key).questions}
        for q in bank.questions:
            if q.id in own:
                raise QuestionInvalid(
                    f"{filename}: question {q.id!r} is one of the national questions: upload "
                    f"only your own (ids starting '{bank.key}.{LOCAL_PREFIX}').",
                    question=q.id,
                )
    else:
        try:
            local = local_bank(session, bank.key)
        except LookupError:
            create_bank(
                session,
                base,
                title=bank.title,
                title_cy=bank.titles.get("cy"),
                purpose=bank.description,
                kind=kind,
                key=bank.key,
                actor=actor,
            )
            created = True
        else:
            if (local.title, local.title_cy, local.purpose) != (
                bank.title,
                bank.titles.get("cy"),
                bank.description,
            ):
                update_bank(
                    session,
                    base,
                    bank.key,
                    title=bank.title,
                    title_cy=bank.titles.get("cy"),
                    purpose=bank.description,
                    actor=actor,
                )
    _, rows = load_rows(session)
    live = {r.name: r for r in rows if r.status == LIVE}
    removed = {r.name for r in rows} - set(live)
    added: list[str] = []
    changed: list[str] = []
    versions: list[str] = []
    same: list[str] = []
    messages = []
    for raw in raw_questions:
        name = raw["id"]
        spec = {k: v for k, v in raw.items() if k != "id"}
        if name in removed:
            raise QuestionInvalid(
                f"{filename}: question {name!r} was removed from this service's questions: "
                "give it a new id to ask it again.",
                question=name,
            )
        try:
            if name in live:
                saved = edit_question(session, base, name, spec, actor=actor)
                if not saved.changed:
                    same.append(saved.qid)
                    continue
                (versions if saved.new_version else changed).append(saved.qid)
            else:
                saved = add_question(
                    session, base, priority=bank.key, spec=spec, name=name, actor=actor
                )
                added.append(saved.qid)
        except QuestionInvalid as exc:
            raise QuestionInvalid(f"{filename}: {exc}", question=exc.question) from None
        if saved.new_version:
            messages.append(saved.message)
    names = [raw["id"] for raw in raw_questions]
    set_order(session, base, bank.key, names, actor=actor)
    left = [r.name for r in questions_under(session, bank.key) if r.name not in set(names)]
    audit.record(
        session,
        "questions_imported",
        actor=actor,
        target=f"priority:{bank.key}",
        details={"added": len(added), "changed": len(changed), "versions": len(versions)},
    )
    return Imported(
        bank.key,
        created,
        tuple(added),
        tuple(changed),
        tuple(versions),
        tuple(same),
        tuple(left),
        tuple(messages),
    )
