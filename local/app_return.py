"""What the business's app does when the OAuth callback sends the browser back to it (AppReturnUrl):
take the one-time ``consent`` from the query and confirm it with its signed-in user's token, so the
connection is made for that user's company only. The demo and the end-to-end tests act as the app.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx


def consent_of(callback: httpx.Response) -> str:
    """The consent the callback handed the browser: on its redirect to the app, else in its JSON."""
    if callback.status_code == 302:
        return parse_qs(urlsplit(callback.headers["location"]).query)["consent"][0]
    return str(callback.json()["consent"])


def confirm(api: httpx.Client, provider: str, callback: httpx.Response) -> httpx.Response:
    """``POST /oauth/{provider}/complete`` with the user's token (``api`` carries it)."""
    return api.post(f"/oauth/{provider}/complete", json={"consent": consent_of(callback)})
