"""The list of admin feature modules; importing one registers its routes on the blueprint.

Kept separate so each feature's author adds one import line here and nothing else."""

from __future__ import annotations

import web.admin.calendars  # noqa: F401  business calendars for SLA plans
import web.admin.canned  # noqa: F401  canned responses
import web.admin.people  # noqa: F401  staff accounts
import web.admin.sla_plans  # noqa: F401  SLA plans
import web.admin.structure  # noqa: F401  departments, teams, help topics
from web.admin import (  # noqa: F401  workflow definitions: list, editor, dry run, publish
    workflow_dry_run,
    workflow_editor,
    workflow_publish,
    workflows,
)
