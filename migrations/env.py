"""Alembic environment for Flask-Migrate.

Uses Flask-SQLAlchemy's `db.engine` (the generated template called the deprecated
`get_engine()`), the metadata of `workflow.models.Base`, and batch mode so column changes
work on SQLite too.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata
config.set_main_option(
    "sqlalchemy.url", db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):  # noqa: ANN001 - alembic's hook signature
    """Write our UtcDateTime as the column type it is in the database, so migrations never
    import application code that may change later."""
    if type_ == "type" and obj.__class__.__name__ == "UtcDateTime":
        return "sa.DateTime(timezone=True)"
    return False


OPTIONS = {"compare_type": True, "render_as_batch": True, "render_item": render_item}


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`ticketflow db upgrade --sql`)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        **OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the database the app is configured for."""

    def skip_empty(ctx, revision, directives):  # noqa: ANN001 - alembic's hook signature
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    conf_args.update(OPTIONS)
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
