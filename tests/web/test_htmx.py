"""HTMX on the ticket page and the dashboard: fragments for swaps, whole pages for navigation
and history restores, refusals (422) and stale versions (409) as fragments shown next to the
form, the CSRF token carried in a header, and the polling answer that costs one query."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.web.helpers import HX, count_queries, fresh, text
from workflow import services
from workflow.models import TransitionLog


def is_page(answer):
    return "<!doctype html>" in text(answer).lower()


def test_navigation_and_history_restores_get_the_whole_page(browser, world, ticket):
    browser.sign_in(world.agent.email)
    url = f"/staff/tickets/{ticket.number}"
    navigation = browser.get(url)
    restore = browser.get(url, headers={**HX, "HX-History-Restore-Request": "true"})
    for answer in (navigation, restore):
        assert answer.status_code == 200 and is_page(answer)
        assert "HX-Request" in answer.headers["Vary"]
    assert 'hx-headers=\'{"X-CSRFToken": ' in text(navigation)
    assert "vendor/htmx-2.0.11.min.js" in text(navigation)


def test_an_htmx_claim_answers_the_changed_fragments_in_place(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}, headers=HX
    )
    claimed = fresh(world, ticket)
    assert answer.status_code == 200 and not is_page(answer)
    assert "HX-Request" in answer.headers["Vary"]
    html = text(answer)
    assert f'id="ticket-seen" name="seen" value="{claimed.version}"' in html
    versions = set(re.findall(r'name="version" type="hidden" value="(\d+)"', html))
    assert versions == {str(claimed.version)}  # the next action is sent on the new version
    assert ">Assigned</span>" in html and f"Claim: #{ticket.number} is now yours." in html
    # only what changed: the status line in place, header and actions replaced out of band,
    # the claim's log entry appended to the thread (the entries before it are not sent again)
    assert answer.headers["HX-Retarget"] == "#ticket-status"
    assert 'id="ticket-header" hx-swap-oob="true"' in html
    assert 'id="ticket-actions" hx-swap-oob="true"' in html
    appended = html.split('<div id="ticket-thread-list" hx-swap-oob="beforeend">', 1)[1]
    assert appended.count('<li class="entry') == 1 and "Claim: New → Assigned" in appended
    assert "Alice Agent" in appended
    assert 'class="composer"' not in html  # a draft being written is left alone
    # ... but its version moves on, or the next Send would be refused as stale (409)
    composer_version = f'id="composer-version" name="version" value="{claimed.version}"'
    assert f'{composer_version} hx-swap-oob="true">' in html
    assert claimed.assignee_id == world.agent.id


def test_an_htmx_transfer_without_a_note_answers_422_with_the_reason_only(browser, world, ticket):
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    claimed = fresh(world, ticket)
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {"version": claimed.version, "note": "", "team_id": world.level2.id},
        headers=HX,
    )
    assert answer.status_code == 422 and not is_page(answer)
    assert "needs a note" in text(answer)
    assert "Reload the page" not in text(answer)
    after = fresh(world, ticket)
    assert (after.version, after.team_id) == (claimed.version, None)


def test_an_htmx_post_on_a_stale_version_answers_409_with_who_changed_it_and_a_refresh(
    browser, world, ticket
):
    browser.sign_in(world.agent.email)
    page_url = f"/staff/tickets/{ticket.number}"
    browser.get(page_url)
    services.add_note(world.session, ticket.id, world.actor(world.colleague), world.now, "Mine")
    answer = browser.post(
        f"{page_url}/events/claim",
        {"version": ticket.version},
        headers={**HX, "HX-Current-URL": f"http://localhost{page_url}"},
    )
    assert answer.status_code == 409 and not is_page(answer)
    assert "Bob Level2 added an internal note to this ticket after you opened it." in text(answer)
    assert "version" not in text(answer)  # no version numbers, and no reload losing a draft
    assert f'hx-get="{page_url}/live"' in text(answer)
    assert fresh(world, ticket).assignee_id is None


def test_a_reload_link_never_leads_to_another_site(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    services.add_note(world.session, ticket.id, world.actor(world.colleague), world.now, "Mine")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim",
        {"version": ticket.version},
        headers={**HX, "HX-Current-URL": "https://evil.example/staff"},
    )
    assert answer.status_code == 409 and "evil.example" not in text(answer)


def test_htmx_posts_carry_the_csrf_token_in_a_header_and_are_refused_without(
    browser, world, ticket
):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    url = f"/staff/tickets/{ticket.number}/events/claim"
    refused = browser.post(url, {"version": ticket.version}, csrf=False, headers=HX)
    assert refused.status_code == 400 and "CSRF" in text(refused)
    assert fresh(world, ticket).assignee_id is None
    accepted = browser.post(
        url, {"version": ticket.version}, csrf=False, headers={**HX, "X-CSRFToken": browser.token}
    )
    assert accepted.status_code == 200
    assert fresh(world, ticket).assignee_id == world.agent.id


def test_the_composer_answers_the_thread_and_an_empty_composer(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": "Toner sensor, again.", "version": ticket.version},
        headers=HX,
    )
    html = text(answer)
    assert answer.status_code == 200 and not is_page(answer)
    assert "Toner sensor, again." in html and "Internal note added." in html
    assert '<div id="ticket-composer" hx-swap-oob="innerHTML">' in html
    version = fresh(world, ticket).version
    assert f'id="composer-version" name="version" type="hidden" value="{version}"' in html


def test_an_empty_message_is_refused_in_place(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "reply", "body": "", "version": ticket.version},
        headers=HX,
    )
    assert answer.status_code == 422 and not is_page(answer)
    assert "Write the message first." in text(answer)


def test_a_transfer_out_of_sight_sends_the_agent_to_the_dashboard(browser, world, ticket):
    world.colleague.departments.clear()
    world.session.commit()
    services.apply_event(
        world.session,
        ticket.id,
        "assign",
        world.actor(world.admin),
        world.now,
        assignee_id=world.colleague.id,
    )
    assert fresh(world, ticket).assignee_id == world.colleague.id  # visible: assigned to Bob
    browser.sign_in(world.colleague.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {
            "version": fresh(world, ticket).version,
            "department_id": world.other_department.id,
            "note": "Billing question after all; over to you, thanks!",
        },
        headers=HX,
    )
    assert answer.status_code == 200 and answer.headers["HX-Redirect"] == "/staff"
    assert "no longer in your departments" in text(browser.get("/staff"))


def test_an_htmx_request_without_a_session_is_sent_to_sign_in_by_header(browser, world, ticket):
    answer = browser.get(
        f"/staff/tickets/{ticket.number}/live?seen=1",
        headers={**HX, "HX-Current-URL": f"http://localhost/staff/tickets/{ticket.number}"},
    )
    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"] == (f"/staff/login?next=/staff/tickets/{ticket.number}")


def test_the_dashboard_answers_its_counts_and_table_to_htmx(browser, world, ticket):
    browser.sign_in(world.agent.email)
    answer = browser.get("/staff?queue=open", headers=HX)
    html = text(answer)
    assert answer.status_code == 200 and not is_page(answer)
    assert '<div id="queue-nav" hx-swap-oob="innerHTML">' in html
    assert '<div id="queue-table" hx-swap-oob="innerHTML">' in html
    assert f'href="/staff/tickets/{ticket.number}"' in html
    assert 'class="filters"' not in html  # what the agent types in the filters is left alone
    assert "HX-Request" in answer.headers["Vary"]


def test_polling_the_dashboard_answers_204_with_one_query_until_something_changes(
    app, browser, world, ticket
):
    browser.sign_in(world.agent.email)
    page = text(browser.get("/staff?queue=open"))
    cursor = re.search(r'id="queue-cursor" name="since" value="([^"]+)"', page).group(1)
    poll = f"/staff?queue=open&since={cursor}"
    answer, statements = count_queries(app, lambda: browser.get(poll, headers=HX))
    assert answer.status_code == 204 and answer.get_data() == b""
    assert len(statements) <= 2  # the signed-in person, the cursor
    assert browser.get(poll).status_code == 200  # navigation never gets an empty answer
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.colleague), world.now)
    changed = browser.get(poll, headers=HX)
    assert changed.status_code == 200 and "queue-table" in text(changed)


def test_a_dashboard_fragment_makes_a_fixed_number_of_queries(app, browser, world):
    world.agent.departments.append(world.department)
    world.session.commit()
    browser.sign_in(world.agent.email)

    def queries():
        answer, statements = count_queries(
            app, lambda: browser.get("/staff?queue=open", headers=HX)
        )
        assert answer.status_code == 200
        return len(statements)

    for _ in range(2):
        world.open()
    few = queries()
    for _ in range(15):
        world.open()
    assert queries() == few


def test_refusals_leave_the_log_untouched(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    before = world.session.scalar(select(func.count()).select_from(TransitionLog))
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/close", {"version": ticket.version}, headers=HX
    )
    assert answer.status_code == 422
    assert world.session.scalar(select(func.count()).select_from(TransitionLog)) == before
