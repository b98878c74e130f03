"""Alembic environment: runs against the engine handed over by surveys.storage.db.upgrade(),
or against DATABASE_URL when run as ``alembic`` from the repository root."""

from alembic import context

from surveys.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from surveys.config import load_settings
        from surveys.storage.db import make_engine

        engine = make_engine(load_settings().database_url)
    return engine


def run_migrations_online() -> None:
    """Run migrations in a transaction on a live connection."""
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
