"""The `ticketflow` command: a FlaskGroup over `create_app` with Ticketflow's own commands."""

from __future__ import annotations

import copy
import importlib
import re
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from flask_migrate import cli as migrate_cli
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from web import clock, create_app
from web.extensions import db
from web.sla_cli import sla_group
from workflow import definition as wfdef
from workflow import publishing
from workflow.models import Role, User
from workflow.reference import ensure_reference_data
from workflow.rules import Actor

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def load_reference_and_builtins() -> list[str]:
    """Priorities, SLA plans and the built-in workflows: idempotent, run after migrating."""
    done = ensure_reference_data(db.session)
    done += publishing.load_builtin(db.session, Actor.system(), clock.now())
    db.session.commit()
    return done


def _db_group() -> click.Group:
    """Flask-Migrate's `db` group, whose `upgrade` also loads reference data and built-ins."""
    group = copy.copy(migrate_cli.db)
    group.commands = dict(migrate_cli.db.commands)
    original = migrate_cli.db.commands["upgrade"]

    @with_appcontext
    def upgrade(**kwargs: object) -> None:
        original.callback(**kwargs)
        if not kwargs.get("sql"):
            for line in load_reference_and_builtins():
                click.echo(f"  {line}")
            click.echo("Database is up to date.")

    group.commands["upgrade"] = click.Command(
        "upgrade",
        params=original.params,
        callback=upgrade,
        help="Upgrade the schema, then load priorities, SLA plans and built-in workflows.",
    )
    return group


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.AGENT.value,
    show_default=True,
)
@click.password_option(
    envvar="TICKETFLOW_PASSWORD", help="Prompted for when not given (or set TICKETFLOW_PASSWORD)."
)
@with_appcontext
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a person who can sign in: staff (agent, admin, ops) or an end user."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise click.UsageError(f"{email!r} is not an email address.")
    if len(password) < 8:
        raise click.UsageError("The password must have at least 8 characters.")
    exists = db.session.scalar(
        select(func.count()).select_from(User).where(func.lower(User.email) == email)
    )
    if exists:
        raise click.UsageError(f"A person with the email {email} already exists.")
    db.session.add(
        User(
            email=email,
            name=name.strip(),
            role=Role(role),
            created_at=clock.now(),
            password_hash=generate_password_hash(password),
        )
    )
    db.session.commit()
    click.echo(f"Created {role} {name} <{email}>.")


@click.group("workflow")
def workflow_group() -> None:
    """Work with lifecycle documents."""


@workflow_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a lifecycle document; list every problem with its line."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"{file}: cannot be read ({exc.__class__.__name__}: {exc}).", err=True)
        sys.exit(2)
    problems = wfdef.problems_in(text)
    if problems:
        click.echo(f"{file}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    d = wfdef.parse(text)
    transitions = sum(len(e.transitions) for e in d.events.values())
    click.echo(
        f"{file}: valid workflow '{d.key}' with {len(d.states)} states, "
        f"{len(d.events)} events and {transitions} transitions."
    )


# Commands whose modules load only when the command is looked up: `jobs.worker` brings in rq
# and redis, which must not be imported in gunicorn's master by `ticketflow run` (its gevent
# workers monkey-patch sockets after forking, and modules imported earlier keep the originals).
LAZY_COMMANDS = {"worker": ("jobs.worker", "worker_command")}


class TicketflowGroup(FlaskGroup):
    """FlaskGroup that closes the app's database connections when a command ends, so a
    command run inside another process (tests, the demo launcher) leaves nothing open, and
    loads the LAZY_COMMANDS only when asked for them (click's lazy-subcommand pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, attribute = LAZY_COMMANDS[name]
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        finally:
            app = ctx.ensure_object(ScriptInfo)._loaded_app
            if app is not None:
                with app.app_context():
                    db.engine.dispose()


cli = TicketflowGroup(
    name="ticketflow",
    create_app=lambda: create_app(),
    add_default_commands=False,
    help="Ticketflow: help-desk lifecycles, SLA timers and queues.",
)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Fill the database with a small demo help desk (idempotent) and print the logins."""
    from web.demo_seed import seed_demo

    load_reference_and_builtins()
    logins, created = seed_demo(db.session, clock.now())
    click.echo("Demo data created." if created else "Demo data was already there.")
    click.echo("Demo logins (staff sign in at /staff/login, customers at /login):")
    for login in logins:
        click.echo(
            f"  {login.role:<9} {login.email:<32} {login.password:<16} {login.name} ({login.about})"
        )


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def run_command(host: str, port: int, workers: int) -> None:
    """Serve the app the way production does: gunicorn with the gevent worker."""
    from web.server import serve

    serve(host, port, workers)


cli.add_command(_db_group(), "db")
cli.add_command(seed_demo_command)
cli.add_command(run_command)
cli.add_command(create_user)
cli.add_command(workflow_group)
cli.add_command(sla_group)


def main() -> None:
    cli.main(prog_name="ticketflow")
