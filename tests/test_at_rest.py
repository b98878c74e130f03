"""Nothing a respondent wrote is readable in a dump of the database (issue 14, item 6).

A planted sentence goes through every path that stores answer-derived text: the answer
itself (raw, redacted, its redactions), a quote's light edit, the safeguarding case it
opens (the contact the young person leaves, the lead's action notes) and the lead's
narrative. Then every text, string and JSON column of every table is read through a plain
connection, as ``pg_dump`` or a copied SQLite file would show it: the sentence is in none.
"""

from __future__ import annotations

import json

from sqlalchemy import String, Text, select, text
from sqlalchemy.types import JSON

from surveys.core import engine
from surveys.services import conversation, review, safeguarding
from surveys.services.accounts import upsert_user
from surveys.services.exporting import save_narrative
from surveys.storage import crypto, store
from surveys.storage.models import Answer, Base, SafeguardingCase

# Made-up words nothing else in the database holds; the first line flags the answer.
PLANTED = "my dad hits me and the zorbliquent trampoline at Quaxleby wharf is where"
MARKERS = ("zorbliquent", "quaxleby", "trampoline")


def text_columns() -> list[tuple[str, str]]:
    """Return (table, column) of every column that can hold words, in the schema."""
    out = []
    for table in Base.metadata.sorted_tables:
        for col in table.columns:
            kind = col.type
            impl = getattr(kind, "impl", kind)
            if isinstance(kind, String | Text | JSON) or isinstance(impl, String | Text | JSON):
                out.append((table.name, col.name))
    return out


def dump(rt) -> dict[tuple[str, str], list[str]]:
    """Read every text column through a plain connection (no decryption)."""
    seen: dict[tuple[str, str], list[str]] = {}
    with rt.database.connect() as conn:
        for table, column in text_columns():
            rows = conn.execute(text(f'SELECT "{column}" FROM "{table}"')).scalars().all()
            seen[(table, column)] = [
                v if isinstance(v, str) else json.dumps(v) for v in rows if v is not None
            ]
    return seen


def test_a_planted_sentence_is_in_no_column_of_any_table(rt, open_round, jobs_immediate):
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="staff")
        rid, round_id = resp.id, rnd.id
    for i, inbound in enumerate((engine.Inbound(choice="yes"), engine.Inbound(text=PLANTED))):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, inbound, key=f"plant-{i}")
    with rt.transaction() as s:
        lead = upsert_user(s, "lead@yjs.example.org", "correct horse battery staple", "lead")
        answer = s.scalars(select(Answer).where(Answer.respondent_id == rid)).one()
        assert answer.flagged, "the planted sentence opens a safeguarding case"
        assert answer.redacted and "zorbliquent" in answer.redacted
        review.use_as_quote(answer, lead.id, f"{answer.redacted} (edited)", confirmed=True)
        answer.quote_translation = f"In English: {PLANTED}"  # no workbench page sets it yet
        assert safeguarding.leave_contact(s, rid, "call me, zorbliquent trampoline")
        case = s.scalars(select(SafeguardingCase)).one()
        safeguarding.record_action(s, case.id, lead.id, f"Spoke about {PLANTED}")
        rnd = store.get_round(s, open_round)
        save_narrative(s, rnd, "policing", f"Young people said {PLANTED}", actor=lead)

    columns = dump(rt)
    found = [
        f"{table}.{column}"
        for (table, column), values in columns.items()
        for v in values
        if any(m in v.casefold() for m in MARKERS)
    ]
    assert found == [], f"in clear: {sorted(set(found))}"
    # The encrypted columns do hold it: as Fernet tokens.
    for table, _, column in crypto.ENCRYPTED_COLUMNS:
        values = columns[(table, column)]
        assert all(v.strip('"').startswith(crypto.TOKEN_PREFIX) for v in values), column
        if table in ("answers", "safeguarding_cases"):  # the tables planted here
            assert values, column

    # Through the models, every word reads back, and the review search still finds it.
    with rt.transaction() as s:
        answer = s.scalars(select(Answer).where(Answer.respondent_id == rid)).one()
        assert answer.text == PLANTED and "zorbliquent" in (answer.quote_text or "")
        assert answer.redactions is not None
        case = s.scalars(select(SafeguardingCase)).one()
        assert "zorbliquent" in case.contact and PLANTED in case.action_note
    assert round_id


def _staff_answer(rt, code: str, words: str) -> None:
    """Store one written staff answer through the conversation service."""
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="staff")
        rid = resp.id
    for i, inbound in enumerate((engine.Inbound(choice="yes"), engine.Inbound(text=words))):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, inbound, key=f"{rid}-{i}")


def test_review_search_finds_words_in_encrypted_redacted_text(rt, open_round):
    _staff_answer(rt, open_round, "The Quaxleby youth club shut and nobody told us")
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        found = review.queue(s, rnd, review.QueueFilter(search="youth CLUB"))
        assert [i.id for i in found.items] and found.total == 1
        assert review.queue(s, rnd, review.QueueFilter(search="bowling")).items == ()


def test_a_second_search_reads_decrypted_texts_from_the_cache(rt, open_round, monkeypatch):
    """The key the database gives (its token's tail) is the key the cache keeps: a warm
    search decrypts nothing (at 100,000 answers that is seconds)."""
    from surveys.services.review.queue import _search as search_ids
    from surveys.storage import crypto

    _staff_answer(rt, open_round, "The Quaxleby youth club shut and nobody told us")
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        assert review.queue(s, rnd, review.QueueFilter(search="youth club")).total == 1

        def no_decrypting(token: str) -> str:
            raise AssertionError("decrypted again: the cache's key did not match")

        monkeypatch.setattr(crypto, "decrypt", no_decrypting)
        # The search alone (the page then decrypts the few answers it shows).
        assert len(search_ids(s, rnd, review.QueueFilter(search="club shut"))) == 1


def test_rows_written_before_encryption_are_read_then_encrypted_by_rotate(rt, open_round):
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="staff")
        rid = resp.id
    words = "Quaxleby youth club is great"
    for i, inbound in enumerate((engine.Inbound(choice="yes"), engine.Inbound(text=words))):
        with rt.transaction() as s:
            conversation.apply(s, rt.context, rid, inbound, key=f"legacy-{i}")
    spans = [{"start": 0, "end": 8, "category": "place", "original": "Quaxleby"}]
    with rt.database.begin() as conn:  # as migration 0006 finds an older database
        conn.execute(
            text("UPDATE answers SET redacted = :r, redactions = :j, quote_text = :q"),
            {"r": "[place] youth club is great", "j": json.dumps(spans), "q": "club is great"},
        )
    with rt.transaction() as s:
        answer = s.scalars(select(Answer).where(Answer.respondent_id == rid)).one()
        assert answer.redactions == spans and answer.quote_text == "club is great"
    crypto.rotate(rt.database.begin)
    columns = dump(rt)
    for column in ("redacted", "redactions", "quote_text"):
        assert all(
            v.strip('"').startswith(crypto.TOKEN_PREFIX) for v in columns[("answers", column)]
        )
    with rt.transaction() as s:
        answer = s.scalars(select(Answer).where(Answer.respondent_id == rid)).one()
        assert answer.redactions == spans and answer.redacted == "[place] youth club is great"
