"""Signing in and clicking like a browser: over real HTTP (keep-alive, cookies, the CSRF
token of the session) or through Flask's test client in the measuring process."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.webapp import PASSWORD, csrf_token


class HttpSession:
    """One person's browser: a keep-alive connection, its cookies, its session's CSRF token
    (sent as the X-CSRFToken header, as htmx does)."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=sent)
                answer = self.connection.getresponse()
                data = answer.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed a kept-alive connection: redial, and send a GET again (a
                # POST may have been done already: the caller counts it as failed instead)
                self.connection.close()
                if attempt == 2 or method != "GET":
                    raise
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if value:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return answer.status, data

    def sign_in(self, email: str) -> None:
        """Staff sign-in through the form; afterwards `token` is the session's CSRF token."""
        _status, page = self.request("GET", "/staff/login")
        token = csrf_token(page.decode())
        status, _ = self.request(
            "POST", "/staff/login", {"email": email, "password": PASSWORD, "csrf_token": token}
        )
        if status not in (302, 303):
            raise RuntimeError(f"Signing in as {email} answered {status}, not a redirect.")
        _status, page = self.request("GET", "/staff")
        self.token = csrf_token(page.decode())

    def close(self) -> None:
        self.connection.close()


def sign_in_test_client(client: Any, email: str) -> None:
    """The same sign-in through Flask's test client (it keeps the cookies itself)."""
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    answer = client.post(
        "/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"Signing in as {email} answered {answer.status_code}.")
