"""Forgotten passwords, end to end through a real SMTP server (aiosmtpd on a free port)."""

from __future__ import annotations

import re

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import JobStatus

from jobs import queues, runtime
from jobs.embedded_redis import free_port
from tests.web.conftest import PASSWORD

LINK = re.compile(r"http://localhost(/reset/\S+)")
NEW = "a brand new long password"


def ask_for_link(browser, email):
    browser.get("/reset")
    return browser.post("/reset", {"email": email})


def test_a_reset_link_is_mailed_and_sets_a_new_password_once(browser, world, inbox):
    answer = ask_for_link(browser, world.customer.email)
    assert answer.status_code == 302
    [mail] = inbox.messages
    assert mail["To"] == world.customer.email
    path = LINK.search(mail.get_payload(decode=True).decode()).group(1)

    assert browser.get(path).status_code == 200
    changed = browser.post(path, {"password": NEW, "confirm": NEW})
    assert changed.status_code == 302 and changed.headers["Location"] == "/login"
    assert browser.sign_in(world.customer.email, NEW, staff=False).status_code == 302
    assert browser.sign_in(world.customer.email, PASSWORD, staff=False).status_code == 422

    reused = browser.get(path)
    assert reused.status_code == 410
    assert "already used" in reused.get_data(as_text=True)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(browser, inbox):
    known_page = ask_for_link(browser, "nobody@example.com")
    assert known_page.status_code == 302
    follow = browser.get("/login").get_data(as_text=True)
    assert "If an account exists for that address" in follow
    assert inbox.messages == []


def test_an_expired_link_is_refused(app, browser, world, inbox):
    ask_for_link(browser, world.customer.email)
    path = LINK.search(inbox.messages[0].get_payload(decode=True).decode()).group(1)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    answer = browser.get(path)
    assert answer.status_code == 410 and "expired" in answer.get_data(as_text=True)


def test_a_forged_link_is_refused(browser):
    answer = browser.get("/reset/not-a-real-token")
    assert answer.status_code == 410 and "not valid" in answer.get_data(as_text=True)


def test_a_mail_server_that_is_down_does_not_break_the_page_and_the_job_retries(
    app, browser, world, monkeypatch
):
    closed_port = free_port()  # nothing listens there
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port)
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(closed_port))
    runtime.reset()
    connection = Redis.from_url(app.config["REDIS_URL"])
    mail = Queue(queues.MAIL, connection=connection)
    mail.empty()

    answer = ask_for_link(browser, world.customer.email)
    assert answer.status_code == 302  # the usual neutral answer, not a 500
    assert "If an account exists for that address" in browser.get("/login").get_data(as_text=True)
    [job] = mail.get_jobs()
    assert job.args[0] == world.customer.email and "/reset/" in job.args[2]

    SimpleWorker([mail], connection=connection).work(burst=True, with_scheduler=False)
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED  # failed, and RQ will try again
    assert job.retries_left == queues.MAIL_RETRY.max - 1
    runtime.reset()


def test_the_reset_page_answers_even_when_the_mail_queue_is_down(app, browser, world):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    answer = ask_for_link(browser, world.customer.email)
    assert answer.status_code == 302
    assert "If an account exists for that address" in browser.get("/login").get_data(as_text=True)


def test_a_new_password_must_be_long_enough_and_repeated(browser, world, inbox):
    ask_for_link(browser, world.customer.email)
    path = LINK.search(inbox.messages[0].get_payload(decode=True).decode()).group(1)
    browser.get(path)
    answer = browser.post(path, {"password": "short", "confirm": "other"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "at least 10 characters" in html and "not the same" in html
