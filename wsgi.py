"""The WSGI entry point for gunicorn: the only module-level app object."""

from web import create_app

app = create_app()
