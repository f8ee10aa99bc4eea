"""Alembic environment for chatvault.

chatvault runs migrations in-process: it builds the Alembic Config in code and passes its
own connection in `config.attributes["connection"]`, already inside the one transaction the
whole migration runs in. The `alembic` command line (for developers, see README.md here)
gets an engine from `sqlalchemy.url` instead.
"""

from alembic import context

from chatvault.db.compare import OPTIONS as COMPARE_OPTIONS

config = context.config

OPTIONS = dict(COMPARE_OPTIONS, render_as_batch=True)


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection) -> None:
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif config.attributes.get("connection") is not None:
    run_online(config.attributes["connection"])
else:
    from chatvault.db.engine import get_engine

    with get_engine(config.get_main_option("sqlalchemy.url")).begin() as connection:
        run_online(connection)
