"""The ops view (`/ops`, roles `ops` and `admin`): the SLA breach queue (live, with a CSV
export), compliance figures with a chart of breaches, and the health of the RQ queues
(retrying a failed job is for admins). Each page is a module of thin routes over
`workflow.breaches`, `workflow.compliance` and `jobs.health`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ops", __name__, url_prefix="/ops")

from web.ops import breach_queue, common, compliance, queue_health  # noqa: E402

bp.context_processor(common.template_helpers)
bp.add_url_rule("", "breaches", breach_queue.page)
bp.add_url_rule("/breaches.csv", "breaches_csv", breach_queue.export)
bp.add_url_rule("/compliance", "compliance", compliance.page)
bp.add_url_rule("/queues", "queues", queue_health.page)
bp.add_url_rule("/queues/failed/<job_id>/retry", "retry_job", queue_health.retry, methods=["POST"])
