"""Pages rendered on the server with Jinja2 (autoescaped: whatever a citizen or handler typed is
shown as text, never as markup)."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from ari_app.accounts.cookies import csrf_token

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ari_app.console", "templates"), autoescape=True,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
                               " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}


def page(template: str, status: int = 200, session_token: str = "", **context: Any) -> web.Response:
    """``template`` rendered with ``context``; the page carries the session's CSRF token for its forms."""
    html = _ENV.get_template(template).render(csrf=csrf_token(session_token) if session_token else "", **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=SECURITY_HEADERS)


def refusal(status: int, message: str) -> web.Response:
    """A page saying why it is refused (403, 404), in the console's words."""
    return page("refused.html", status=status, message=message, who=None)
