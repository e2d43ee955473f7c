"""Who is signed in is read afresh on every request, from one light statement: a
deactivation signs the person out at once, a role change takes effect at once."""

from __future__ import annotations

from workflow.models import Role


def test_an_agent_deactivated_while_signed_in_is_signed_out_at_once(browser, world):
    assert browser.sign_in(world.agent.email).status_code == 302
    assert browser.get("/staff").status_code == 200
    world.agent.is_active = False
    world.session.commit()
    answer = browser.get("/staff")
    assert answer.status_code == 302
    assert "/staff/login" in answer.headers["Location"]


def test_a_role_change_takes_effect_on_the_next_request(browser, world):
    assert browser.sign_in(world.agent.email).status_code == 302
    assert browser.get("/admin/people").status_code == 403
    world.agent.role = Role.ADMIN
    world.session.commit()
    assert browser.get("/admin/people").status_code == 200
    world.agent.role = Role.AGENT
    world.session.commit()
    assert browser.get("/admin/people").status_code == 403


def test_the_page_names_the_person_signed_in(browser, world):
    assert browser.sign_in(world.agent.email).status_code == 302
    world.agent.name = "Alice Renamed"
    world.session.commit()
    assert "Alice Renamed" in browser.get("/staff").get_data(as_text=True)
