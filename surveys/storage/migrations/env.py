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


def _sqlite_foreign_keys(connection, on: bool) -> None:
    # SQLite changes a table by copying it, dropping the old one and renaming the copy
    # (Alembic's batch mode). With foreign keys enforced, dropping the old table deletes
    # every row that refers to it (ON DELETE CASCADE): a migration would empty the answers.
    # The pragma only works outside a transaction, so it goes to the driver's connection.
    raw = connection.connection.driver_connection
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def run_migrations_online() -> None:
    """Run migrations in a transaction on a live connection."""
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,  # SQLite cannot ALTER much
            compare_type=True,
            # Huey's own tables when JOBS_URL is this PostgreSQL database (not ours to migrate).
            include_name=lambda name, type_, _parents: (
                not (type_ == "table" and (name or "").startswith("yjv_queue_"))
            ),
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:  # the rows still point where they should
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"a migration broke {len(broken)} references")
            if connection.in_transaction():  # the connection's own (autobegun) transaction
                connection.commit()
        finally:
            if sqlite:
                if connection.in_transaction():  # a failed run: nothing of it is kept
                    connection.rollback()
                _sqlite_foreign_keys(connection, on=True)


run_migrations_online()
