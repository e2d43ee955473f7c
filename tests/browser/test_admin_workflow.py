"""An admin changes how the team works, in a real browser: a new state `waiting_on_vendor`
where the resolution clock pauses, an event into it (from the structured form) and one out of
it (typed as YAML), the diagram redrawn as the text becomes valid, a dry run that passes, and
a publish. Then an agent's ticket page offers the new event, and using it pauses the SLA."""

from __future__ import annotations

import base64
import re

from playwright.sync_api import Page, expect
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from workflow import services
from workflow.models import Ticket, VersionStatus, WorkflowVersion

PASSWORD = "a long enough password"
VENDOR_REPLIED = (
    "  vendor_replied:\n"
    "    label: Vendor replied\n"
    "    by: [agent, admin]\n"
    "    from: [waiting_on_vendor]\n"
    "    to: in_progress\n"
)


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url)
    assert "/staff/login" in page.url  # sent to sign in first
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)


def diagram_svg(page: Page) -> str:
    src = page.locator("#diagram img").get_attribute("src")
    assert src and src.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(src.split(",", 1)[1]).decode()


def test_an_admin_adds_a_vendor_state_and_an_agent_uses_it(live_server, browser_engine, world):
    for user in (world.admin, world.agent):
        user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    world.agent.departments.append(world.department)
    world.session.commit()
    agent = world.actor(world.agent)
    ticket = world.open(subject="The label printer needs a part from the vendor")
    for event in ("claim", "start"):
        services.apply_event(world.session, ticket.id, event, agent, world.now)
    services.reply(world.session, ticket.id, agent, world.now, "We have ordered the part.")
    world.session.expire_all()
    before = world.session.get(Ticket, ticket.id)
    assert (before.state, before.resolution_paused_at) == ("in_progress", None)
    due_before = before.next_due_at

    admin_context = browser_engine.new_context()
    page = admin_context.new_page()
    sign_in(page, f"{live_server}/admin/workflows", world.admin.email)
    page.click("#workflow-support a")
    page.click("#version-1 >> button:has-text('Copy into a new draft')")
    page.wait_for_url("**/admin/workflows/support/versions/2/edit")
    first_diagram = page.locator("#diagram").get_attribute("data-checksum")

    # an edit that cannot be made says why in place (a 422 swapped into the workspace)
    state = page.locator("fieldset.add-state")
    state.locator("input[name=state_name]").fill("new")
    state.locator("button:has-text('Add the state')").click()
    expect(page.locator("#workspace .errors")).to_contain_text(
        "There is already a state called 'new'."
    )
    expect(page.locator("#page-errors")).to_be_empty()

    # the state, from the structured form: it is unreachable until an event leads there
    state = page.locator("fieldset.add-state")
    state.locator("input[name=state_name]").fill("waiting_on_vendor")
    state.locator("input[name=state_label]").fill("Waiting on vendor")
    state.locator("select[name=state_sla_resolution]").select_option("pause")
    state.locator("button:has-text('Add the state')").click()
    expect(page.locator("#workspace .notice")).to_contain_text("not saved yet")
    expect(page.locator("#checks")).to_contain_text("unreachable")

    # the event into it, from the form too, with a guard attached
    event = page.locator("fieldset.add-event")
    event.locator("input[name=event_name]").fill("wait_for_vendor")
    event.locator("input[name=event_label]").fill("Wait for vendor")
    event.locator("input[name=event_by][value=agent]").check()
    event.locator("input[name=event_by][value=admin]").check()
    event.locator("input[name=event_from][value=in_progress]").check()
    event.locator("select[name=event_to]").select_option("waiting_on_vendor")
    event.locator("button:has-text('Add the event')").click()
    expect(page.locator("#checks")).to_contain_text("could never be finished")
    guard = page.locator("fieldset.attach-guard")
    guard.locator("select[name=guard_event]").select_option("wait_for_vendor")
    guard.locator("select[name=guard_rule]").select_option("actor_is_assignee")
    guard.locator("button:has-text('Attach the guard')").click()
    expect(page.locator("#source")).to_have_value(  # `events` is the document's last part
        re.compile(r"  wait_for_vendor:\n(    .*\n)+    guards: \[actor_is_assignee\]\n$")
    )

    # the way out, typed into the editor: checked as it is typed, the diagram redrawn
    text = page.input_value("#source")
    page.fill("#source", text + VENDOR_REPLIED)
    expect(page.locator("#checks")).to_contain_text("No problems: a valid workflow with 7 states")
    expect(page.locator("#diagram")).not_to_have_attribute("data-checksum", first_diagram)
    svg = diagram_svg(page)
    assert ">Waiting on vendor</text>" in svg
    assert ">wait_for_vendor</text>" in svg and ">vendor_replied</text>" in svg
    assert ">[actor_is_assignee]</text>" in svg
    page.click("button.save")
    expect(page.locator("p.flash")).to_contain_text("Draft saved.")

    # a dry run on a made-up ticket in progress, assigned to Agent A
    page.click("text=Dry run (saved draft)")
    page.select_option("select[name=sample_state]", "in_progress")
    page.select_option("select[name=sample_assignee]", "agent_a")
    page.select_option("select[name=step_event_1]", "wait_for_vendor")
    page.select_option("select[name=step_actor_1]", "agent_a")
    page.select_option("select[name=step_event_2]", "vendor_replied")
    page.select_option("select[name=step_actor_2]", "agent_a")
    page.click("button:has-text('Run')")
    result = page.locator("#dry-run-result")
    expect(result).to_contain_text("Passed: every step was allowed")
    expect(result.locator("tr.step").first).to_contain_text("resolution: pause")
    expect(result).to_contain_text("Ends in: In progress")

    page.goto(f"{live_server}/admin/workflows/support/versions/2/publish")
    expect(page.locator("section.diff")).to_contain_text("State waiting_on_vendor added")
    page.click("button:has-text('Publish version 2')")
    expect(page.locator("p.flash")).to_contain_text("version 2 is published; 1 live ticket moved")
    admin_context.close()
    world.session.expire_all()
    published = world.session.scalar(
        select(WorkflowVersion).where(WorkflowVersion.status == VersionStatus.PUBLISHED)
    )
    assert published.number == 2

    # the agent's ticket page now offers the new event, and using it pauses the resolution SLA
    agent_context = browser_engine.new_context()
    page = agent_context.new_page()
    sign_in(page, f"{live_server}/staff/tickets/{ticket.number}", world.agent.email)
    wait = page.locator("#action-wait_for_vendor")
    expect(wait.locator("button")).to_have_text("Wait for vendor")
    expect(wait.locator("button")).to_be_enabled()
    wait.locator("button").click()
    expect(page.locator("#ticket-header .badge")).to_have_text("Waiting on vendor")
    expect(page.locator("#ticket-header")).to_contain_text("(paused)")
    expect(page.locator("#action-vendor_replied button")).to_be_enabled()
    agent_context.close()

    world.session.expire_all()
    after = world.session.get(Ticket, ticket.id)
    assert after.state == "waiting_on_vendor"
    assert after.workflow_version_id == published.id
    assert after.resolution_paused_at is not None
    assert after.next_due_at is None or after.next_due_at != due_before
