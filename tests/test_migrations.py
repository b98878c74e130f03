"""The Alembic history builds exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from surveys.storage import db
from surveys.storage.models import Base


def test_migrations_match_the_models(db_url):
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
        assert db.schema_is_current(engine)
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(db_url):
    engine = db.make_engine(db_url)
    try:
        db.upgrade(engine)
        db.upgrade(engine)
        assert db.schema_is_current(engine)
    finally:
        engine.dispose()
