"""Page or fragment: the one place that decides, so every route answers HTMX the same way.

A page's named blocks double as its fragments (the Hypermedia Systems habit): the template is
rendered whole for a browser's navigation and block by block for an HTMX request. A history
restore (the browser's back button after htmx's cache missed) asks for the whole page even
though it carries `HX-Request`, and every answer that varies says so with `Vary: HX-Request`,
so no cache hands a fragment to a navigation or a page to a swap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, current_app, make_response, render_template, request
from markupsafe import Markup, escape

VARY = "HX-Request"


def wants_fragment() -> bool:
    """True for an HTMX request that will swap what it gets; False for navigation and for
    htmx's history restore, which replaces the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def vary(response: Response) -> Response:
    """Mark `response` as depending on whether the request came from HTMX."""
    response.vary.add(VARY)
    return response


def render_block(template_name: str, block: str, **context: Any) -> Markup:
    """One named block of a page template, rendered with the same context processors as the
    whole page (current_user, csrf_token, url_for...). Names a block uses must be passed in or
    imported inside the block: the template's top-level imports do not run for a block.
    Autoescaped like the page, so the result is markup (safe to concatenate with `oob`)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name)
    app.update_template_context(context)
    rendered = template.blocks[block](template.new_context(context))
    return Markup(app.jinja_env.concat(rendered))  # type: ignore[attr-defined]


def render_blocks(template_name: str, blocks: Sequence[str], **context: Any) -> list[Markup]:
    """Several named blocks of one page template, rendered from one context (the context
    processors run once, not once per block); otherwise as `render_block`."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name)
    app.update_template_context(context)
    concat = app.jinja_env.concat  # type: ignore[attr-defined]
    return [Markup(concat(template.blocks[b](template.new_context(context)))) for b in blocks]


def oob(element_id: str, html: str, swap: str = "innerHTML") -> Markup:
    """`html` wrapped to be swapped out of band into the element with `element_id`."""
    return Markup('<div id="{}" hx-swap-oob="{}">{}</div>').format(
        escape(element_id), escape(swap), Markup(html)
    )


def fragment(html: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A fragment answer (HTML, no layout) with `Vary: HX-Request`."""
    response = make_response(html, status)
    response.headers.update(headers or {})
    return vary(response)


def page(template_name: str, status: int = 200, **context: Any) -> Response:
    """The whole page, marked as differing from the fragments of the same URL."""
    return vary(make_response(render_template(template_name, **context), status))


def unchanged() -> Response:
    """204: nothing changed since what the page holds; htmx swaps nothing."""
    return vary(make_response("", 204))


def page_or_blocks(template_name: str, blocks: Mapping[str, str], **context: Any) -> Response:
    """The whole page for navigation; for HTMX, each block of `blocks` (element id -> block
    name) swapped out of band into its element, so one answer refreshes several places."""
    if not wants_fragment():
        return page(template_name, **context)
    html = "".join(
        oob(element_id, render_block(template_name, block, **context))
        for element_id, block in blocks.items()
    )
    return fragment(html)
