"""The process-wide things every adapter needs: settings, database engine, banks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from surveys.config import Settings, load_settings
from surveys.core.catalogue import Catalogue, default_catalogue, load_catalogue
from surveys.core.engine import default_texts
from surveys.services.accounts import upsert_user
from surveys.services.conversation import Context
from surveys.storage import crypto, db, store


@dataclass
class Runtime:
    """Settings plus the engine, session factory and catalogue built from them."""

    settings: Settings = field(default_factory=load_settings)

    @cached_property
    def database(self) -> Engine:
        """Return the database engine (and set up the answer keys it encrypts text with)."""
        crypto.configure(self.settings)
        return db.make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Return the session factory."""
        return db.session_factory(self.database)

    @cached_property
    def catalogue(self) -> Catalogue:
        """Return the validated question banks."""
        if self.settings.banks_dir:
            return load_catalogue(self.settings.banks_dir)
        return default_catalogue()

    @cached_property
    def context(self) -> Context:
        """Return what every conversation delivery needs: the banks and the secrets."""
        texts = default_texts().with_helpline(
            self.settings.second_helpline, self.settings.second_helpline_languages
        )
        return Context(self.catalogue, self.settings.secret_key, self.settings.service_phone, texts)

    def context_for(self, channel: str) -> Context:
        """Return the context with a channel's own wording (the web form says "press Skip")."""
        cache = self.__dict__.setdefault("_channel_contexts", {})
        if channel not in cache:
            cache[channel] = replace(self.context, texts=self.context.texts.for_channel(channel))
        return cache[channel]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Close the database connections this runtime opened, if any."""
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
