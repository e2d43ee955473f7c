"""The web app: HTTP and HTML. The only package that imports Flask request machinery."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from config import ROOT, Config
from web.errors import register_error_handlers
from web.extensions import csrf, db, limiter, login_manager, migrate
from web.extensions import htmx as htmx_extension  # `web.htmx` is the page-or-fragment module
from workflow.db import configure_engine
from workflow.liveness import check_on_checkout

MIGRATIONS = ROOT / "migrations"


def create_app(config: Config | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints and error handlers."""
    config = config or Config.from_env()
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.config.from_mapping(config.flask_settings())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        check_on_checkout(configure_engine(db.engine))
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    htmx_extension.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from web import admin, auth, live, ops, portal, public, staff, staff_nav

    auth.init_login(login_manager)
    app.register_blueprint(public.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(ops.bp)
    app.add_template_global(staff_nav.staff_nav)  # the header's role-aware links
    register_error_handlers(app)
    return app
