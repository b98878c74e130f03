"""The process-wide things every adapter needs: settings, database engine, banks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from surveys.config import Settings, load_settings
from surveys.core.catalogue import Catalogue, default_catalogue, load_catalogue
from surveys.core.engine import Texts, default_texts
from surveys.services import questions
from surveys.services.accounts import upsert_user
from surveys.services.conversation import Context
from surveys.storage import crypto, db, store


@dataclass
class Runtime:
    """Settings plus the engine, session factory and catalogue built from them."""

    settings: Settings = field(default_factory=load_settings)
    #: Bound each statement by DATABASE_STATEMENT_TIMEOUT (the web app: a page must not wait
    #: for ever). Commands that migrate or rewrite many rows run without that bound.
    bounded_statements: bool = False

    @cached_property
    def database(self) -> Engine:
        """Return the database engine (and set up the answer keys it encrypts text with)."""
        crypto.configure(self.settings)
        s = self.settings
        return db.make_engine(
            s.database_url,
            connect_timeout=s.database_connect_timeout,
            statement_timeout=s.database_statement_timeout if self.bounded_statements else None,
            pool_timeout=s.database_pool_timeout,
        )

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Return the session factory."""
        return db.session_factory(self.database)

    @cached_property
    def banks(self) -> Catalogue:
        """Return the packaged question banks (or ``YJVOICE_BANKS_DIR``'s), validated."""
        if self.settings.banks_dir:
            return load_catalogue(self.settings.banks_dir)
        return default_catalogue()

    @cached_property
    def reads(self) -> sessionmaker[Session]:
        """Return sessions for short reads that never wait on a writer (the catalogue's)."""
        reader = db.make_reader(self.settings.database_url)
        return self.sessions if reader is None else db.session_factory(reader)

    @cached_property
    def catalogues(self) -> questions.Catalogues:
        """Return the process's catalogue keeper: the banks plus the service's questions."""
        return questions.Catalogues(self.banks, self.reads)

    @property
    def catalogue(self) -> Catalogue:
        """Return the banks plus the service's own questions, as last committed.

        Checked against the database on each use (one short read), or once per web request
        (pinned at its start), so a question saved in one process reaches every process.
        """
        return self.catalogues.current()

    @property
    def context(self) -> Context:
        """Return what every conversation delivery needs: the catalogue and the secrets."""
        return self._context_for(self.catalogue, None)

    def context_in(self, session: Session) -> Context:
        """Return the context with the catalogue as ``session`` (a delivery's) sees it."""
        return self._context_for(self.catalogues.current(session), None)

    def context_for(self, channel: str) -> Context:
        """Return the context with a channel's own wording (the web form says "press Skip")."""
        return self._context_for(self.catalogue, channel)

    @cached_property
    def texts(self) -> Texts:
        """Return the engine's texts with the service's helplines (no database needed)."""
        return default_texts().with_helpline(
            self.settings.second_helpline, self.settings.second_helpline_languages
        )

    def _context_for(self, catalogue: Catalogue, channel: str | None) -> Context:
        # One Context per catalogue and channel: surveys are cached on their identity.
        cache = self.__dict__.setdefault("_contexts", {})
        key = (id(catalogue), channel)
        found = cache.get(key)
        if found is None or found.catalogue is not catalogue:
            texts = self.texts if channel is None else self.texts.for_channel(channel)
            if len(cache) > 32:
                cache.clear()
            found = cache[key] = Context(
                catalogue, self.settings.secret_key, self.settings.service_phone, texts
            )
        return found

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Close the database connections this runtime opened, if any."""
        if "reads" in self.__dict__ and self.reads is not self.__dict__.get("sessions"):
            bind = self.reads.kw.get("bind")
            if bind is not None:
                bind.dispose()
        if "database" in self.__dict__:
            self.database.dispose()

    def web_link(self, code: str) -> str:
        """Return the full web link of a round."""
        return f"{self.settings.public_base_url}/r/{code}"


def initialise(
    rt: Runtime, *, admin_email: str | None = None, admin_password: str | None = None
) -> int:
    """Create or upgrade the schema and load the banks; safe to run twice."""
    db.upgrade(rt.database)
    with rt.transaction() as session:
        count = store.sync_priorities(session, rt.catalogue)
        if admin_email:
            upsert_user(session, admin_email, admin_password or "", role="lead")
    return count
