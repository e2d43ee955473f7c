"""Configuration, read from the environment once, when the app is created.

Defaults serve the embedded demo (SQLite under instance/, an embedded Redis started by
`make demo`); production (TICKETFLOW_ENV=production) refuses to start on the default secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_SECRET = "dev-only-change-me"


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which variable to fix."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name) or default)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {env[name]!r}.") from None


def _default_database_url() -> str:
    return f"sqlite:///{ROOT / 'instance' / 'ticketflow.db'}"


@dataclass(frozen=True)
class Config:
    """Everything the app reads from the environment, with the variable that sets it."""

    ENV: str = "development"  # TICKETFLOW_ENV
    DATABASE_URL: str = field(default_factory=_default_database_url)  # DATABASE_URL
    REDIS_URL: str | None = None  # REDIS_URL
    SECRET_KEY: str = DEFAULT_SECRET  # SECRET_KEY
    TIMEZONE: str = "UTC"  # TIMEZONE
    MAIL_SERVER: str | None = None  # MAIL_SERVER (unset: mail is written to the log)
    MAIL_PORT: int = 25  # MAIL_PORT
    MAIL_FROM: str = "Ticketflow <help@localhost>"  # MAIL_FROM
    MAIL_SECURITY: str = "none"  # MAIL_SECURITY: none, starttls or tls (implicit, port 465)
    MAIL_USERNAME: str | None = None  # MAIL_USERNAME (with MAIL_PASSWORD: log in)
    MAIL_PASSWORD: str | None = None  # MAIL_PASSWORD
    MAIL_OUTBOX: str | None = None  # MAIL_OUTBOX: without MAIL_SERVER, .eml files go here
    PUBLIC_URL: str | None = None  # PUBLIC_URL: where people reach Ticketflow; mails link there
    PASSWORD_RESET_MAX_AGE: int = 3600  # seconds a reset link stays valid
    ATTACHMENT_DIR: str | None = None  # ATTACHMENT_DIR (unset: instance/attachments)
    ATTACHMENT_MAX_BYTES: int = 10 * 1024 * 1024  # ATTACHMENT_MAX_BYTES, per file
    ATTACHMENT_MAX_FILES: int = 5  # files one message may carry
    RATELIMIT_KEY_PREFIX: str = "ticketflow"  # keeps test runs (or tenants) apart
    LIVE_CHANNEL: str = "ticketflow:live"  # LIVE_CHANNEL: live updates and presence keys
    TESTING: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if environ is None else environ)
        config = cls(
            ENV=env.get("TICKETFLOW_ENV", "development"),
            DATABASE_URL=env.get("DATABASE_URL") or _default_database_url(),
            REDIS_URL=env.get("REDIS_URL") or None,
            SECRET_KEY=env.get("SECRET_KEY", DEFAULT_SECRET),
            TIMEZONE=env.get("TIMEZONE", "UTC"),
            MAIL_SERVER=env.get("MAIL_SERVER") or None,
            MAIL_PORT=_int(env, "MAIL_PORT", 25),
            MAIL_FROM=env.get("MAIL_FROM", "Ticketflow <help@localhost>"),
            MAIL_SECURITY=(env.get("MAIL_SECURITY") or "none").strip().lower(),
            MAIL_USERNAME=env.get("MAIL_USERNAME") or None,
            MAIL_PASSWORD=env.get("MAIL_PASSWORD") or None,
            MAIL_OUTBOX=env.get("MAIL_OUTBOX") or None,
            PUBLIC_URL=(env.get("PUBLIC_URL") or "").strip().rstrip("/") or None,
            ATTACHMENT_DIR=env.get("ATTACHMENT_DIR") or None,
            ATTACHMENT_MAX_BYTES=_int(env, "ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
            LIVE_CHANNEL=(env.get("LIVE_CHANNEL") or "ticketflow:live").strip(),
        )
        config.check()
        return config

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work, with the variable to fix."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.ENV == "production" and self.SECRET_KEY in ("", DEFAULT_SECRET):
            raise ConfigError(
                "SECRET_KEY must be set to a long random value in production "
                "(TICKETFLOW_ENV=production)."
            )
        if self.ENV == "production" and self.DATABASE_URL.startswith("sqlite"):
            raise ConfigError("DATABASE_URL must point at PostgreSQL in production.")
        if self.ENV == "production" and not self.REDIS_URL:
            raise ConfigError("REDIS_URL must point at Redis in production.")
        if not self.LIVE_CHANNEL or any(c.isspace() for c in self.LIVE_CHANNEL):
            raise ConfigError(
                f"LIVE_CHANNEL must be a Redis channel name without spaces, not "
                f"{self.LIVE_CHANNEL!r}."
            )
        if self.MAIL_SECURITY not in ("none", "starttls", "tls"):
            raise ConfigError(
                f"MAIL_SECURITY must be none, starttls or tls, not {self.MAIL_SECURITY!r}."
            )
        if self.PUBLIC_URL and not self.PUBLIC_URL.startswith(("http://", "https://")):
            raise ConfigError(
                f"PUBLIC_URL must be the address people open, such as https://help.example.com, "
                f"not {self.PUBLIC_URL!r}."
            )
        try:
            ZoneInfo(self.TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"TIMEZONE {self.TIMEZONE!r} is not an IANA time zone name such as Europe/Berlin."
            ) from None

    def flask_settings(self) -> dict[str, object]:
        """The keys Flask and its extensions read."""
        from workflow.db import sqlalchemy_url

        return {
            "SECRET_KEY": self.SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(self.DATABASE_URL),
            "SQLALCHEMY_ENGINE_OPTIONS": {},  # liveness: workflow.liveness, no pre-ping
            "TICKETFLOW_ENV": self.ENV,
            "TICKETFLOW_TIMEZONE": self.TIMEZONE,
            "REDIS_URL": self.REDIS_URL,
            "TESTING": self.TESTING,
            "WTF_CSRF_TIME_LIMIT": None,
            "MAIL_SERVER": self.MAIL_SERVER,
            "MAIL_PORT": self.MAIL_PORT,
            "MAIL_FROM": self.MAIL_FROM,
            "MAIL_SECURITY": self.MAIL_SECURITY,
            "MAIL_USERNAME": self.MAIL_USERNAME,
            "MAIL_PASSWORD": self.MAIL_PASSWORD,
            "MAIL_OUTBOX": self.MAIL_OUTBOX,
            "PUBLIC_URL": self.PUBLIC_URL,
            "PASSWORD_RESET_MAX_AGE": self.PASSWORD_RESET_MAX_AGE,
            "ATTACHMENT_DIR": self.ATTACHMENT_DIR,
            "ATTACHMENT_MAX_BYTES": self.ATTACHMENT_MAX_BYTES,
            "ATTACHMENT_MAX_FILES": self.ATTACHMENT_MAX_FILES,
            # A request larger than every allowed file together (plus the form) is cut off by
            # Werkzeug with 413 before anything is read or stored.
            "MAX_CONTENT_LENGTH": self.ATTACHMENT_MAX_BYTES * self.ATTACHMENT_MAX_FILES + 2**20,
            # Throttling lives in Redis, shared by every worker. A Redis outage must not keep
            # anyone waiting or lock everyone out: short timeouts, and errors let requests by.
            "RATELIMIT_STORAGE_URI": self.REDIS_URL or "memory://",
            "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_KEY_PREFIX": self.RATELIMIT_KEY_PREFIX,
            # Deployments sharing one Redis server keep their live updates apart by this name
            # (the publishers in web/ and jobs/ and each web process's subscription).
            "LIVE_CHANNEL": self.LIVE_CHANNEL,
            "RATELIMIT_HEADERS_ENABLED": True,
        }
