"""Odd numbers in URLs and forms get a 4xx with a sentence, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("number", ["99999999999999999999", "9223372036854775808"])
def test_a_ticket_number_past_any_column_is_a_clear_client_error(browser, world, number):
    browser.sign_in(world.agent.email)
    response = browser.get(f"/staff/tickets/{number}")
    assert response.status_code == 400
    assert "out of range" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["priority=%C2%B2", "page=%C2%B2", "q=%23%C2%B2"])
def test_a_superscript_digit_in_a_dashboard_filter_is_not_a_server_error(browser, world, query):
    browser.sign_in(world.agent.email)
    assert browser.get(f"/staff?{query}").status_code < 500
