"""The data model: plain SQLAlchemy 2 declarative classes on one `Base`, split by area.

The web app binds Flask-SQLAlchemy to this `Base` (same metadata, request-scoped sessions);
jobs and the CLI use `workflow.db`. Times are stored in UTC.

Import models from here (`from workflow.models import Ticket`), not from the area modules:
importing this package imports every area, so every table is on `Base.metadata` (create_all,
the migration comparison) and every relationship's class names resolve on the one registry.

- `base`: `Base`, the naming convention, `UtcDateTime` and the shared column helpers
- `people`: roles, users, departments, teams
- `lifecycle`: workflows and their versions, help topics, priorities
- `tickets` (+ `ticket_indexes`): the ticket row, its read indexes, the ticket counter
- `thread`: a ticket's thread entries and transition log
- `content`: canned responses, attachments, notifications
- `sla`: calendars, SLA plans, recorded steps and outcomes, re-clock runs
- `admin`: the admin change history
- `outbox`: the mail outbox (one row per notice, written with the change)
"""

from workflow.models.admin import AdminChange
from workflow.models.base import NAMING, Base, Id, UtcDateTime, stored_enum, utc_column
from workflow.models.content import Attachment, CannedResponse, Notification
from workflow.models.lifecycle import HelpTopic, Priority, VersionStatus, Workflow, WorkflowVersion
from workflow.models.outbox import OutboxMail
from workflow.models.people import Department, Role, Team, User, staff_departments, team_members
from workflow.models.sla import ReclockRun, SlaCalendar, SlaOutcome, SlaPlan, SlaStep
from workflow.models.thread import EntryKind, ThreadEntry, TransitionLog
from workflow.models.ticket_indexes import LIVE, SCOPE
from workflow.models.tickets import OPEN_BY_PLAN, OPS_INDEXES, Counter, Ticket

__all__ = [
    "LIVE",
    "NAMING",
    "OPEN_BY_PLAN",
    "OPS_INDEXES",
    "SCOPE",
    "AdminChange",
    "Attachment",
    "Base",
    "CannedResponse",
    "Counter",
    "Department",
    "EntryKind",
    "HelpTopic",
    "Id",
    "Notification",
    "OutboxMail",
    "Priority",
    "ReclockRun",
    "Role",
    "SlaCalendar",
    "SlaOutcome",
    "SlaPlan",
    "SlaStep",
    "Team",
    "ThreadEntry",
    "Ticket",
    "TransitionLog",
    "User",
    "UtcDateTime",
    "VersionStatus",
    "Workflow",
    "WorkflowVersion",
    "staff_departments",
    "stored_enum",
    "team_members",
    "utc_column",
]
