"""The app the FreshBooks sandbox tests register (the sandbox's fixtures and tests share it)."""

from __future__ import annotations

CLIENT_ID, CLIENT_SECRET = "freshbooks-test-app", "freshbooks-test-secret"
REDIRECT_URI = "https://app.test/oauth/freshbooks/callback"
