"""Encryption at rest of every answer-derived text with Fernet.

Encrypted: the raw answer (``answers.text``), its redacted form (``redacted``), the
redactions with the words they replaced (``redactions``, JSON inside the token), a quote's
light edit (``quote_text``), a safeguarding case's contact and action notes, and the lead's
narratives. docs/security.md lists what stays in clear, and why.

``EncryptedText`` is a ``Text`` column whose values are Fernet tokens in the database and
plain strings in Python. Keys come from ``ANSWER_KEYS`` (comma-separated, newest first): the
newest encrypts, every key decrypts (``MultiFernet``), so a key is rotated by putting a new
one first and running ``yjvoice keys rotate`` (``rotate``), which re-encrypts every row under
the newest key in batches; a re-run skips rows already done, so it resumes after a stop.

Notes:
- the empty string is stored as is: a purged answer has ``text == ""`` and reveals nothing;
- a value that is not a Fernet token (rows written before encryption) is read back as is,
  and ``rotate`` (run by migration 0003 too) encrypts it;
- ciphertext is randomised: SQL can no longer compare or search these columns (``LIKE``,
  ``=``); search the redacted text instead (``surveys.services.review``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Connection, Text, cast, column, select, table, update
from sqlalchemy.types import TypeDecorator

TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - not a secret: every Fernet token (version byte 0x80) starts like this

#: Columns holding encrypted text (rotated by ``rotate``): (table, primary key, column).
ENCRYPTED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("answers", "id", "text"),
    ("answers", "id", "redacted"),
    ("answers", "id", "redactions"),  # JSON (see JSON_COLUMNS)
    ("answers", "id", "quote_text"),
    ("answers", "id", "quote_translation"),
    ("safeguarding_cases", "id", "contact"),
    ("sms_outbox", "id", "number"),
    ("safeguarding_cases", "id", "action_note"),
    ("narratives", "round_id", "text"),  # the lead's narrative can quote young people
)


#: Encrypted columns of JSON type (``EncryptedJSON``): each holds a JSON string, the token.
JSON_COLUMNS = frozenset({("answers", "redactions")})


class KeysNotConfigured(RuntimeError):
    """No answer keys were given and none could be loaded."""


class _Keys:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: tuple[str, ...] = ()
        self.known: list[str] = []
        self.multi: MultiFernet | None = None
        self.newest: Fernet | None = None


_state = _Keys()


def derive_key(secret: str) -> str:
    """Return a Fernet key derived from a secret (used when no ANSWER_KEYS are set: tests)."""
    digest = hashlib.sha256(b"yjvoice-answer-key\x00" + secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def configure_keys(keys: Sequence[str]) -> None:
    """Use these Fernet keys (newest first) for every encrypted column in this process."""
    keys = tuple(k for k in keys if k)
    if not keys:
        raise KeysNotConfigured("no answer keys given")
    with _state.lock:
        if keys == _state.keys:
            return
        # Keys configured earlier in this process still decrypt (several runtimes in one
        # process, e.g. tests and the CLI in-process); only the newest given one encrypts.
        earlier = [k for k in _state.known if k not in keys]
        fernets = [Fernet(k) for k in (*keys, *earlier)]
        _state.known = [*keys, *earlier]
        _state.keys = keys
        _state.multi = MultiFernet(fernets)
        _state.newest = fernets[0]


def configure(settings: Any) -> None:
    """Configure keys from settings: ANSWER_KEYS, else a key derived from the secret key."""
    keys = tuple(getattr(settings, "answer_keys", ()) or ())
    configure_keys(keys or (derive_key(settings.secret_key),))


def _multi() -> MultiFernet:
    if _state.multi is None:
        from surveys.config import load_settings

        configure(load_settings())
    assert _state.multi is not None
    return _state.multi


def is_token(value: str) -> bool:
    """Return True when a stored value looks like a Fernet token."""
    return value.startswith(TOKEN_PREFIX)


def encrypt(value: str) -> str:
    """Return the Fernet token of a string under the newest key ("" stays "")."""
    if value == "":
        return ""
    return _multi().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(value: str) -> str:
    """Return the plain string of a stored value (plain legacy values pass through)."""
    if not value or not is_token(value):
        return value
    try:
        return _multi().decrypt(value.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise InvalidToken("stored text cannot be decrypted with ANSWER_KEYS") from None


class EncryptedText(TypeDecorator[str]):
    """A Text column encrypted with the answer keys; the schema type stays ``Text``."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON column whose value is encrypted: it holds one JSON string, the Fernet token of
    the value's JSON text. The schema type stays ``JSON``; a plain value (rows written before
    encryption) is read back as is.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(_json_text(value))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, str) and is_token(value):
            return json.loads(decrypt(value))
        return value


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class RotateResult:
    """How many rows were read and how many re-encrypted, per column."""

    scanned: int = 0
    rewritten: int = 0
    last_id: int = 0


def _under_newest(value: str) -> bool:
    assert _state.newest is not None
    try:
        _state.newest.decrypt(value.encode("ascii"))
        return True
    except InvalidToken:
        return False


def rotate(
    conn_factory: Callable[[], Any],
    *,
    batch: int = 500,
    after: int = 0,
    progress: Callable[[str, RotateResult], None] | None = None,
    columns: Sequence[tuple[str, str, str]] = ENCRYPTED_COLUMNS,
) -> dict[str, RotateResult]:
    """Re-encrypt every encrypted value under the newest key; encrypt legacy plain values.

    ``conn_factory()`` returns a context manager yielding a ``Connection`` in a transaction
    (``engine.begin``); each batch is its own transaction, so a stop loses at most one batch
    and a re-run skips rows already under the newest key (resumable). Values are read and
    written as plain ``Text`` (never through ``EncryptedText``). Concurrent writers are safe:
    each row is updated only if it still holds the value that was read.
    """
    multi = _multi()
    results: dict[str, RotateResult] = {}
    for table_name, pk, col in columns:
        is_json = (table_name, col) in JSON_COLUMNS
        t = table(table_name, column(pk), column(col, JSON if is_json else Text))
        # Read (and compare) every value as its text: a JSON column's too.
        as_text = cast(t.c[col], Text) if is_json else t.c[col]
        res = RotateResult(last_id=after)
        while True:
            with conn_factory() as conn:
                rows = _batch(conn, t, pk, as_text, res.last_id, batch)
                if not rows:
                    break
                for row_id, stored in rows:
                    res.scanned += 1
                    res.last_id = row_id
                    value = json.loads(stored) if is_json and stored else stored
                    if not value:
                        continue
                    if isinstance(value, str) and is_token(value):
                        if _under_newest(value):
                            continue
                        new = multi.rotate(value.encode("ascii")).decode("ascii")
                    else:  # a plain value, written before encryption
                        new = encrypt(_json_text(value) if is_json else value)
                    conn.execute(
                        update(t).where(t.c[pk] == row_id, as_text == stored).values({col: new})
                    )
                    res.rewritten += 1
            if progress is not None:
                progress(table_name, res)
        results[f"{table_name}.{col}"] = res
    return results


def _batch(conn: Connection, t: Any, pk: str, value: Any, after: int, size: int) -> list:
    rows = list(
        conn.execute(
            select(t.c[pk], value).where(t.c[pk] > after).order_by(t.c[pk]).limit(size)
        ).all()
    )
    if len(rows) == size:
        # ``pk`` need not be unique (a round's narratives share its id): take every row of
        # the last id, so the next batch, which starts after it, skips none of them.
        last = rows[-1][0]
        rest = conn.execute(select(t.c[pk], value).where(t.c[pk] == last)).all()
        rows += [r for r in rest if r not in rows]
    return rows
