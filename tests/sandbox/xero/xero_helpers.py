"""The app the Xero sandbox tests register (the sandbox's fixtures and tests share it)."""

from __future__ import annotations

CLIENT_ID, CLIENT_SECRET = "xero-test-app", "xero-test-secret"
REDIRECT_URI = "https://app.test/oauth/xero/callback"
