"""What every sandbox's OAuth server shares: app registrations, redirects with a query, the error
page a browser sees, and reading client and bearer credentials from headers."""

from __future__ import annotations

import base64
import binascii
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from local.sandboxes.kit.wire import Response, html_response


@dataclass(frozen=True)
class ClientApp:
    """An app registration: its secret and the redirect URIs registered for it."""

    secret: str
    redirect_uris: list[str] = field(default_factory=list)


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (a None value is left out)."""
    present = {key: value for key, value in params.items() if value is not None}
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(present)}"


def error_page(problem: str, title: str = "Error") -> Response:
    """The 400 page a browser sees when an authorize request is wrong (no redirect: it may be forged)."""
    body = (
        f"<!doctype html><title>{html.escape(title)}</title><h1>Something went wrong</h1>"
        f"<p>{html.escape(problem)}</p>"
    )
    return html_response(400, body)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none."""
    if not header or not header.lower().startswith("bearer ") or not header[7:].strip():
        return None
    return header[7:].strip()


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(client id, secret) of an ``Authorization: Basic`` header; (None, None) without a valid one."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
