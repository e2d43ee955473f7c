"""The ops view: who may see it, the breach queue page and its live wiring, the CSV export,
compliance, and queue health against a real Redis with real RQ worker processes (a job that
really failed, retried by an admin), including the panel shown when Redis is down."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from jobs import queues
from jobs.connection import REQUEST_TIMEOUT_S, for_requests
from jobs.embedded_redis import free_port
from tests.web import helpers
from tests.web.conftest import Browser, app_config
from tests.web.helpers import HX, text
from web import create_app
from web.extensions import db
from workflow import services
from workflow.escalation import BREACH
from workflow.followups import ScheduleTimer
from workflow.models import SlaPlan, SlaStep, Ticket

PAGES = ["/ops", "/ops/breaches.csv", "/ops/compliance", "/ops/queues"]
ROW = re.compile(r'data-ticket="(\d+)"')


def signed_in(app, world, who):
    browser = Browser(app.test_client())
    if who != "anonymous":
        user = getattr(world, who)
        answer = browser.sign_in(user.email, staff=who != "customer")
        assert answer.status_code == 302, f"{who} could not sign in"
    return browser


def count_queries(app, call):
    """What `call` answers, and how many SQL statements it sent."""
    answer, statements = helpers.count_queries(app, call)
    return answer, len(statements)


@pytest.fixture
def sev_a(world, clock):
    """Tickets get SEV A: first response 30 min (at risk with 6 left), resolution 4 h; the
    pages' clock stands at the world's NOW."""
    world.topic.sla_plan_id = world.session.scalar(
        select(SlaPlan.id).where(SlaPlan.name == "SEV A")
    )
    world.session.commit()
    return world


def opened_ago(world, minutes, subject="The printer is on fire"):
    """A ticket opened `minutes` before the world's NOW (where the pages' clock stands)."""
    return open_at(world, world.now - timedelta(minutes=minutes), subject)


def open_at(world, at, subject="The printer is on fire"):
    return services.open_ticket(
        world.session,
        requester_id=world.customer.id,
        help_topic_id=world.topic.id,
        subject=subject,
        body="Smoke.",
        actor=world.actor(world.customer),
        now=at,
    ).ticket


# ---- access ---------------------------------------------------------------------------------


def test_the_list_of_pages_is_every_ops_page(app):
    rules = {r.rule: r.methods for r in app.url_map.iter_rules() if r.rule.startswith("/ops")}
    assert {rule for rule, methods in rules.items() if "GET" in methods} == set(PAGES)
    assert {rule for rule, methods in rules.items() if "POST" in methods} == {
        "/ops/queues/failed/<job_id>/retry"
    }


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("customer", 403), ("agent", 403), ("ops", 200), ("admin", 200)],
)
def test_only_ops_and_admins_see_the_ops_pages(app, world, path, who, status):
    answer = signed_in(app, world, who).get(path)
    assert answer.status_code == status
    if who == "anonymous":
        assert answer.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("agent", 403), ("ops", 403)])
def test_only_admins_may_retry_a_job(app, world, who, status):
    browser = signed_in(app, world, who)
    answer = browser.post("/ops/queues/failed/some-job/retry")
    assert answer.status_code == status


def test_retrying_needs_the_csrf_token(app, world):
    browser = signed_in(app, world, "admin")
    answer = browser.post("/ops/queues/failed/some-job/retry", csrf=False)
    assert answer.status_code == 400 and "form has expired" in text(answer)


# ---- the breach queue -----------------------------------------------------------------------


def test_the_breach_queue_lists_late_and_at_risk_tickets_most_urgent_first(app, sev_a):
    world = sev_a
    late_2h = opened_ago(world, 150, "Two hours late")
    at_risk = opened_ago(world, 27, "First reply due in 3 minutes")
    late_5 = opened_ago(world, 35, "Five minutes late")
    answered = opened_ago(world, 5, "Plenty of time")  # answered: resolution due in 4 h
    services.reply(world.session, answered.id, world.actor(world.admin), world.now, "Hi")
    page = signed_in(app, world, "ops").get("/ops")
    html = text(page)
    assert page.status_code == 200
    assert [int(n) for n in ROW.findall(html)] == [late_2h.number, late_5.number, at_risk.number]
    assert "overdue 2h 00m" in html and "due in 3 min" in html
    assert "Plenty of time" not in html
    assert "<strong>2</strong> breached" in html and "<strong>1</strong> at risk" in html
    assert "No team · SEV A" in html


def test_the_breach_queue_refreshes_live_through_the_staff_stream(app, sev_a):
    world = sev_a
    late = opened_ago(world, 40, "Late")
    browser = signed_in(app, world, "ops")
    html = text(browser.get("/ops"))
    assert 'sse-connect="/staff/live/stream"' in html
    assert 'hx-trigger="sse:changed, live-resync from:body, every 30s"' in html
    assert "every 10s [ticketflow.polling()]" in html  # while the stream is down
    fragment = browser.get("/ops", headers=HX)
    assert "<!doctype" not in text(fragment).lower()
    assert 'id="breach-queue" hx-swap-oob="innerHTML"' in text(fragment)
    assert f'data-ticket="{late.number}"' in text(fragment)
    assert "HX-Request" in fragment.headers["Vary"]
    stream = browser.client.get("/staff/live/stream", buffered=False)  # ops may listen
    try:
        assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    finally:
        stream.close()


def test_the_breach_queue_costs_the_same_queries_for_3_or_12_tickets(app, sev_a):
    world = sev_a
    browser = signed_in(app, world, "ops")
    for i in range(3):
        opened_ago(world, 40 + i)
    few, few_queries = count_queries(app, lambda: browser.get("/ops"))
    for i in range(9):
        opened_ago(world, 50 + i)
    many, many_queries = count_queries(app, lambda: browser.get("/ops"))
    assert len(ROW.findall(text(few))) == 3 and len(ROW.findall(text(many))) == 12
    assert many_queries == few_queries <= 4  # the signed-in person, plans, tickets (+ session)


def test_the_csv_export_lists_the_queue_and_defuses_formulas(app, sev_a):
    world = sev_a
    late = opened_ago(world, 95, '=HYPERLINK("http://evil.example","Click")')
    soon = opened_ago(world, 26, "@SUM(A1:A9) and ümlauts")
    world.session.execute(
        update(Ticket).where(Ticket.id == soon.id).values(team_id=world.level2.id)
    )
    world.session.commit()
    answer = signed_in(app, world, "admin").get("/ops/breaches.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="breach-queue-')
    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert [int(r["ticket"]) for r in rows] == [late.number, soon.number]
    first, second = rows
    assert first["subject"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert second["subject"] == "'@SUM(A1:A9) and ümlauts"
    assert (first["team"], first["plan"], first["clock"]) == ("No team", "SEV A", "first_response")
    assert first["status"] == "late by 1h 05m" and int(first["minutes_past_due"]) == 65
    assert first["at_risk_at_utc"] == ""
    assert second["team"] == "Level 2 Support"
    assert second["status"] == "due in 4 min"
    assert int(second["minutes_past_due"]) == -4 and second["at_risk_at_utc"]
    due = datetime.fromisoformat(first["due_at_utc"])
    assert due.utcoffset() == timedelta(0)


# ---- compliance -----------------------------------------------------------------------------


def test_compliance_shows_the_figures_and_a_chart_in_one_query(app, sev_a, clock):
    """The page's clock is fixed at the world's Monday 09:00 (UTC is the help desk's zone),
    so "today" is the same day whenever the test runs."""
    world = sev_a
    now = world.now
    assert clock() == now
    met = open_at(world, now - timedelta(minutes=20))
    services.reply(
        world.session, met.id, world.actor(world.admin), now - timedelta(minutes=10), "Hi"
    )
    breached = open_at(world, now - timedelta(minutes=60))  # first reply due 30 min ago
    world.session.add(
        SlaStep(
            ticket_id=breached.id,
            clock="resolution",
            cycle=1,
            step=BREACH,
            due_at=now - timedelta(days=3),
            done_at=now - timedelta(days=3),
            plan_id=breached.sla_plan_id,  # where it breached (as the timers record it)
        )
    )
    world.session.commit()
    browser = signed_in(app, world, "ops")
    answer, queries = count_queries(app, lambda: browser.get("/ops/compliance"))
    html = text(answer)
    assert answer.status_code == 200 and queries <= 3  # person, figures (+ session)
    today = html.split('data-period="today"')[1].split("</table>")[0]
    week = html.split('data-period="week"')[1].split("</table>")[0]

    def cells(part):
        return re.findall(r'class="num[^"]*">([^<]*)<', part.split('data-plan="SEV A"')[1])

    # met/breached of first response, next response and resolution, then % met
    assert cells(today)[:7] == ["1", "1", "0", "0", "0", "0", "50%"]
    assert cells(week)[:7] == ["1", "1", "0", "0", "0", "1", "33%"]
    assert (
        "<svg" in html and 'aria-label="Breaches per day over the last 14 days: 2 in all"' in html
    )


# ---- queue health ---------------------------------------------------------------------------


def run_worker(env, *args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "jobs.worker", "--no-cron", "--logging-level", "WARNING", *args],
        env=env,
        capture_output=True,
        timeout=timeout,
    )


@pytest.fixture
def connection(redis):
    """The run's Redis (tests/web/conftest.py), under the name these tests give it."""
    return redis


@pytest.fixture
def worker_env(engine, redis_url, live_channel):
    database = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        missing = make_url(database).set(database=f"ticketflow_missing_{os.getpid()}")
        missing = missing.render_as_string(hide_password=False)
    else:
        missing = "sqlite:////nonexistent-ticketflow-dir/missing.db"
    env = {**os.environ, "REDIS_URL": redis_url, "LIVE_CHANNEL": live_channel}
    env.pop("MAIL_SERVER", None)
    return {"good": {**env, "DATABASE_URL": database}, "broken": {**env, "DATABASE_URL": missing}}


def test_a_really_failed_job_shows_its_error_and_an_admin_retries_it(
    app, world, connection, worker_env
):
    job_id = f"ops-test-{uuid.uuid4().hex}"
    Queue(queues.TIMERS, connection=connection).enqueue(
        queues.FIRE_TIMER, 999_999, "first_response", BREACH, job_id=job_id
    )
    done = run_worker(worker_env["broken"], "--burst")  # its database does not exist
    assert done.returncode == 0, done.stderr.decode()
    assert job_id in FailedJobRegistry(queues.TIMERS, connection=connection)

    ops_view = text(signed_in(app, world, "ops").get("/ops/queues"))
    row = ops_view.split(f'data-job="{job_id}"')[1].split("</tr>")[0]
    assert "jobs.sla.fire_timer(999999, &#39;first_response&#39;, &#39;breach&#39;)" in row
    assert "OperationalError" in row and "Background on this error" not in row.split("<details>")[0]
    assert "Traceback" in row and "Retry</button>" not in ops_view

    admin = signed_in(app, world, "admin")
    page = text(admin.get("/ops/queues"))
    assert f'action="/ops/queues/failed/{job_id}/retry"' in page
    answer = admin.post(f"/ops/queues/failed/{job_id}/retry")
    assert answer.status_code == 303 and answer.headers["Location"] == "/ops/queues"
    assert f"The job {job_id} is back on the queue ticketflow-timers." in text(
        admin.get("/ops/queues")
    )
    assert job_id not in FailedJobRegistry(queues.TIMERS, connection=connection)
    assert Job.fetch(job_id, connection=connection).get_status() == JobStatus.QUEUED
    again = admin.post(f"/ops/queues/failed/{job_id}/retry")
    assert again.status_code == 409 and "retried already" in text(again)

    done = run_worker(worker_env["good"], "--burst")  # the database is back
    assert done.returncode == 0, done.stderr.decode()
    job = Job.fetch(job_id, connection=connection)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "ticket 999999: nothing due"


def test_retrying_a_job_that_is_gone_is_a_clear_404(app, world):
    admin = signed_in(app, world, "admin")
    answer = admin.post("/ops/queues/failed/no-such-job-here/retry")
    assert answer.status_code == 404 and "no longer kept" in text(answer)
    bad = admin.post("/ops/queues/failed/not%20an%20id/retry")
    assert bad.status_code == 404 and "no job with that id" in text(bad)


def test_workers_alive_and_scheduled_jobs_are_counted(
    app, world, redis_url, connection, worker_env
):
    due = datetime.now(UTC) + timedelta(hours=1)
    ticket_id = 10_000_000 + os.getpid()
    queues.schedule([ScheduleTimer(ticket_id, "first_response", due, BREACH)], connection)
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker", "--no-cron", "--logging-level", "WARNING"],
        env=worker_env["good"],
        start_new_session=True,
    )
    try:
        ops = signed_in(app, world, "ops")
        deadline = time.monotonic() + 30
        html = ""
        while time.monotonic() < deadline and f"pid {worker.pid}" not in html:
            time.sleep(0.3)
            html = text(ops.get("/ops/queues"))
        assert f"pid {worker.pid}" in html
        timers = html.split('data-queue="ticketflow-timers"')[1].split("</tr>")[0]
        scheduled = int(re.findall(r'class="num">(\d+)<', timers)[1])
        assert scheduled >= 1
        # Reading the workers never lengthens the request client's timeouts (an RQ Worker
        # object would raise its pool's socket timeout to the worker's dequeue timeout).
        kwargs = for_requests(redis_url).connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == REQUEST_TIMEOUT_S
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        connection.delete(Job.key_for(queues.timer_id(ticket_id, "first_response", BREACH)))
        connection.zrem(
            f"rq:scheduled:{queues.TIMERS}", queues.timer_id(ticket_id, "first_response", BREACH)
        )


@pytest.fixture
def app_with_redis_down(engine, app):
    """The same database, with REDIS_URL pointing at a port where nothing listens."""
    yield from _app(engine, f"redis://127.0.0.1:{free_port()}/0", app.config["LIVE_CHANNEL"])


@pytest.fixture
def app_without_redis(engine, app):
    yield from _app(engine, None, app.config["LIVE_CHANNEL"])


def _app(engine, redis_url, live_channel):
    other = create_app(app_config(engine, redis_url, live_channel))
    yield other
    with other.app_context():
        db.engine.dispose()


def test_redis_down_is_a_panel_not_an_error(app_with_redis_down, world):
    admin = signed_in(app_with_redis_down, world, "admin")
    started = time.monotonic()
    answer = admin.get("/ops/queues")
    assert time.monotonic() - started < 3
    assert answer.status_code == 200
    assert "Redis is unreachable" in text(answer) and 'id="redis-down"' in text(answer)
    assert admin.get("/ops").status_code == 200  # the breach queue needs only the database
    retry = admin.post("/ops/queues/failed/some-job/retry")
    assert retry.status_code == 503 and "Redis is unreachable" in text(retry)


def test_no_redis_configured_says_so(app_without_redis, world):
    answer = signed_in(app_without_redis, world, "ops").get("/ops/queues")
    assert answer.status_code == 200 and "Redis is not configured" in text(answer)
