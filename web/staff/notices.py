"""A staff member's in-app notices (`notifications` rows an escalation step wrote for them):
the unread count in the page header, `/staff/notifications` listing them, and marking one or
all of them read.

A notice is personal: every query here is scoped to the signed-in person's `user_id`, so
another person's notice is a 404, never data. The header count is offered to templates as a
function, so only a page that renders the header (base.html) pays for it: one statement on
the `ix_notifications_user` index, reading at most UNREAD_CAP + 1 entries however many
notices someone has collected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from web import clock
from web.auth import staff_required
from web.extensions import db
from workflow.models import Notification, Ticket

PAGE_SIZE = 50
UNREAD_CAP = 99
"""Past this the header says "99+": a badge needs no exact number, and the count stays a
bounded read for someone who never clears their notices."""


def unread_count(user_id: int) -> int:
    """How many of the person's notices are unread, counted up to UNREAD_CAP + 1."""
    unread = (
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(UNREAD_CAP + 1)
        .subquery()
    )
    return db.session.scalar(select(func.count(unread.c.id))) or 0


def header_context() -> dict[str, Callable[[], str | None]]:
    """Context processor: `unread_notices()` gives the header's badge text ("3", "99+") for a
    signed-in staff member on a `/staff` page, None elsewhere (no query at all): the admin and
    ops consoles keep their own query budgets, and the Support Center is not for staff."""

    def unread_notices() -> str | None:
        if request.blueprint != "staff":
            return None
        if not current_user.is_authenticated or not current_user.user.is_staff:
            return None
        try:
            count = unread_count(current_user.user.id)
        except SQLAlchemyError:  # an error page after a failed transaction: no badge, no 2nd 500
            return None
        return f"{UNREAD_CAP}+" if count > UNREAD_CAP else str(count)

    return {"unread_notices": unread_notices}


def _before() -> int | None:
    """The keyset of the next page: the id of the previous page's last (oldest) notice."""
    raw = request.args.get("before", "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 18:
        abort(400, "That page link is broken; go back to the first page of your notices.")
    return int(raw)


@staff_required()
def notifications():
    """The signed-in staff member's own notices, newest first, PAGE_SIZE a page (keyset on
    the id, which the `ix_notifications_user` index orders), each with its ticket's number."""
    me = current_user.user.id
    before = _before()
    query = (
        select(Notification, Ticket.number)
        .join(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.user_id == me)
        .order_by(Notification.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    rows: list[Any] = list(db.session.execute(query).all())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template(
        "staff/notifications.html",
        rows=rows,
        next_before=rows[-1][0].id if more else None,
        first_page=before is None,
    )


@staff_required()
def mark_read(notice_id: int):
    """Mark one of the person's own notices read (already read: left as it was). Another
    person's notice, or none with this id, is a 404 and changes nothing."""
    found = db.session.scalar(
        select(Notification).where(
            Notification.id == notice_id, Notification.user_id == current_user.user.id
        )
    )
    if found is None:
        abort(404, "There is no such notice among yours.")
    if found.read_at is None:
        found.read_at = clock.now()
        db.session.commit()
    flash("Notice marked as read.")
    return redirect(url_for("staff.notifications", **_page_args()), 303)


@staff_required()
def mark_all_read():
    """Mark every unread notice of the person read, in one statement; others' are untouched."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
    )
    db.session.commit()
    marked = result.rowcount or 0
    flash(
        f"Marked {marked} notice{'s' if marked != 1 else ''} as read."
        if marked
        else "There were no unread notices."
    )
    return redirect(url_for("staff.notifications"), 303)


def _page_args() -> dict[str, str]:
    """Back to the page the form was on (its `before` keyset, if it is well formed)."""
    before = request.form.get("before", "").strip()
    return {"before": before} if before.isdecimal() and len(before) <= 18 else {}
