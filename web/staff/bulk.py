"""Bulk actions from the dashboard (`POST /staff/bulk`): claim, assign or change the priority
of the selected tickets, each through its own verb and transaction, and show every ticket's
outcome (the refused ones with their reasons).

With HTMX the answer is the result list, swapped under the bulk bar. Without JavaScript the
answer is a 303 to `/staff/bulk/result`, whose link carries the outcome signed with the app's
secret (so nothing is kept on the server, and no one can show a forged result on our pages).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from web import clock, htmx
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from web.forms import EmptyForm
from workflow import bulk
from workflow.models import Role, Team

RESULT_SALT = "ticketflow.bulk-result"
RESULT_MAX_AGE = 3600


def _selected() -> dict[int, int | None]:
    """Ticket number -> the version its row shows: the `ticket` checkboxes name the numbers,
    each row's `version-<number>` field its version (a field of the table, so a live update
    of the row moves it on while the ticked checkbox is kept). Anything malformed is a 400."""
    selected: dict[int, int | None] = {}
    for number in request.form.getlist("ticket"):
        version = request.form.get(f"version-{number}", "")
        if not number.isdecimal() or (version and not version.isdecimal()):
            abort(400, "The selection was garbled; reload the dashboard and select again.")
        selected[int(number)] = int(version) if version else None
    return selected


def _params() -> dict[str, Any]:
    params = {}
    for name in ("assignee_id", "team_id", "priority_id"):
        raw = request.form.get(name, "").strip()
        if raw:
            if not raw.isdecimal():
                abort(400, "Choose the agent, team or priority from the list.")
            params[name] = int(raw)
    return params


def _back(raw: str) -> str:
    """Where "back to the dashboard" goes: the queue the person came from, on this site."""
    return raw if raw.startswith("/staff") and "//" not in raw else url_for("staff.dashboard")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESULT_SALT)


@staff_required(Role.AGENT, Role.ADMIN)
def apply():
    """Apply one action to every selected ticket and report each ticket's outcome."""
    if not EmptyForm().validate_on_submit():
        abort(400, "The form was incomplete; reload the page and try again.")
    action = request.form.get("action", "")
    result = bulk.apply_to_many(
        db.session,
        action,
        _selected(),
        current_user.actor,
        clock.now(),
        **_params(),
    )
    after_commit(*result.outcomes)
    back = _back(request.form.get("back", ""))
    if htmx.wants_fragment():
        # live-resync (static/ticketflow.js): the dashboard re-reads its queue right away
        html = render_template("staff/_bulk_result.html", result=result)
        return htmx.fragment(html, headers={"HX-Trigger": "live-resync"})
    rows = [[row.number, row.done, list(row.messages)] for row in result.rows]
    token = _serializer().dumps({"user": current_user.user.id, "action": action, "rows": rows})
    return redirect(url_for("staff.bulk_result", r=token, back=back), 303)


@staff_required(Role.AGENT, Role.ADMIN)
def result():
    """The outcome of a bulk action, from its signed link (made for this person only)."""
    try:
        data = _serializer().loads(request.args.get("r", ""), max_age=RESULT_MAX_AGE)
    except BadSignature:
        abort(400, "This result link is broken or too old; the dashboard shows the tickets now.")
    if data.get("user") != current_user.user.id or data.get("action") not in bulk.ACTIONS:
        abort(404, "This result belongs to someone else's bulk action.")
    outcome = bulk.BulkResult(data["action"])
    outcome.rows = [bulk.RowResult(n, bool(done), tuple(msgs)) for n, done, msgs in data["rows"]]
    return render_template(
        "staff/bulk_result.html", result=outcome, back=_back(request.args.get("back", ""))
    )


def teams() -> list:
    """The bulk bar's teams (the dashboard brings agents and priorities). A template global,
    so the query runs only when the bar is drawn, not on every live refresh of the table."""
    return db.session.execute(select(Team.id, Team.name).order_by(Team.name)).all()
