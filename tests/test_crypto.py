"""Raw answer text is encrypted at rest; keys rotate; a dump without the key reveals nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from surveys.config import ConfigError, load_settings
from surveys.core import engine
from surveys.services import conversation
from surveys.storage import crypto, store
from surveys.storage.models import Answer

SECRET_WORDS = "my uncle Darren hits me when he drinks"


def store_text(rt, code: str, words: str, key: str) -> str:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        resp, _ = conversation.start(s, rnd, rt.context, channel="web", audience="staff")
        rid = resp.id
    # Consent first (not stored), then a staff member's first question, which takes words.
    for i, inbound in enumerate((engine.Inbound(choice="yes"), engine.Inbound(text=words))):
        with rt.transaction() as s:
            out = conversation.apply(s, rt.context, rid, inbound, key=f"{key}-{i}")
    assert out.stored == 1
    return rid


def raw_texts(rt) -> list[str]:
    """SELECT the answers table through a plain connection: what a dump would show."""
    with rt.database.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT text FROM answers ORDER BY id"))]


def test_a_raw_dump_of_the_answers_table_reveals_no_answer_text(rt, open_round):
    store_text(rt, open_round, SECRET_WORDS, "dump")
    dumped = raw_texts(rt)
    assert dumped and all(v == "" or v.startswith(crypto.TOKEN_PREFIX) for v in dumped)
    assert not any("Darren" in v or "drinks" in v for v in dumped)
    with rt.transaction() as s:  # through the model the words read back as given
        assert SECRET_WORDS in s.scalars(select(Answer.text)).all()


def test_rotate_reencrypts_under_the_newest_key_and_old_key_can_go(rt, open_round):
    old = crypto.derive_key(rt.settings.secret_key)
    store_text(rt, open_round, SECRET_WORDS, "rot")
    before = raw_texts(rt)
    new = Fernet.generate_key().decode()
    crypto.configure_keys((new, old))
    try:
        result = crypto.rotate(rt.database.begin, batch=1)
        assert result["answers.text"].rewritten == len([v for v in before if v])
        again = crypto.rotate(rt.database.begin)  # resumable: nothing left to do
        assert all(r.rewritten == 0 for r in again.values())
        after = raw_texts(rt)
        for value in after:
            if value:
                assert Fernet(new).decrypt(value.encode()).decode()
        assert SECRET_WORDS in [Fernet(new).decrypt(v.encode()).decode() for v in after if v]
    finally:
        crypto.configure_keys((old,))


def test_legacy_plain_rows_are_read_and_then_encrypted_by_rotate(rt, open_round):
    store_text(rt, open_round, "fine thanks", "legacy")
    with rt.database.begin() as conn:  # a row written before encryption existed
        conn.execute(text("UPDATE answers SET text = 'plain old words' WHERE choice IS NULL"))
    with rt.transaction() as s:
        assert "plain old words" in s.scalars(select(Answer.text)).all()
    crypto.rotate(rt.database.begin)
    assert "plain old words" not in raw_texts(rt)
    with rt.transaction() as s:
        assert "plain old words" in s.scalars(select(Answer.text)).all()


def test_empty_text_stays_empty_and_none_stays_none():
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""
    assert crypto.EncryptedText().process_bind_param(None, None) is None


def test_settings_read_answer_keys_and_production_requires_them(tmp_path):
    key = Fernet.generate_key().decode()
    env = {"YJVOICE_INSTANCE": str(tmp_path), "ANSWER_KEYS": f" {key} ,", "RETENTION_DAYS": "30"}
    s = load_settings(env)
    assert s.answer_keys == (key,) and s.retention_days == 30
    with pytest.raises(ConfigError):
        load_settings({**env, "ANSWER_KEYS": "not-a-key"})
    with pytest.raises(ConfigError):
        load_settings(
            {"YJVOICE_INSTANCE": str(tmp_path), "YJVOICE_ENV": "production", "SECRET_KEY": "x" * 40}
        )
    with pytest.raises(ConfigError):
        load_settings({**env, "RETENTION_DAYS": "0"})
    assert load_settings({"YJVOICE_INSTANCE": str(tmp_path)}).retention_days == 90


def test_keys_commands(rt, open_round, monkeypatch, tmp_path):
    from yjvoice.cli import main

    store_text(rt, open_round, SECRET_WORDS, "cli")
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("SECRET_KEY", rt.settings.secret_key)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path))
    runner = CliRunner()
    generated = runner.invoke(main, ["keys", "generate"])
    assert generated.exit_code == 0
    new = generated.output.strip()
    Fernet(new)
    old = crypto.derive_key(rt.settings.secret_key)
    monkeypatch.setenv("ANSWER_KEYS", f"{new},{old}")
    try:
        res = runner.invoke(main, ["keys", "rotate", "--batch", "2"])
        assert res.exit_code == 0, res.output
        assert "answers:" in res.output
        assert all(not v or Fernet(new).decrypt(v.encode()) for v in raw_texts(rt))
    finally:
        crypto.configure_keys((old,))


def test_migration_0003_encrypts_rows_written_before_it(rt, open_round):
    from alembic import command

    from surveys.storage import db

    store_text(rt, open_round, "fine thanks", "mig")
    with rt.database.begin() as conn:
        conn.execute(text("UPDATE answers SET text = 'words from before' WHERE text <> ''"))
    cfg = db._alembic_config(rt.database)
    command.downgrade(cfg, "0002")
    db.upgrade(rt.database)
    assert db.schema_is_current(rt.database)
    assert "words from before" not in raw_texts(rt)
    with rt.transaction() as s:
        assert "words from before" in s.scalars(select(Answer.text)).all()


def test_rotate_rewrites_every_narrative_of_a_round_even_across_batches(rt, open_round):
    from surveys.storage.models import Narrative, Round

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto.configure_keys((old,))
    try:
        with rt.transaction() as s:
            rnd = s.scalars(select(Round)).one()
            for key in ("policing", "remands", "education"):  # three rows share round_id
                s.add(Narrative(round_id=rnd.id, priority=key, text=f"narrative {key}"))
        crypto.configure_keys((new, old))
        result = crypto.rotate(
            rt.database.begin, batch=2, columns=(("narratives", "round_id", "text"),)
        )
        assert result["narratives.text"].rewritten == 3
        crypto.configure_keys((new,))  # the old key can go: every narrative still reads
        with rt.transaction() as s:
            assert sorted(s.scalars(select(Narrative.text))) == [
                "narrative education",
                "narrative policing",
                "narrative remands",
            ]
    finally:
        crypto.configure_keys((old,))
