"""Constants and a webhook receiver for the Square sandbox tests (plain HTTP, no booksync code)."""

from __future__ import annotations

from tests.sandbox.receiver import Received, Receiver

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URI", "SIGNATURE_KEY", "Received", "Receiver"]

CLIENT_ID = "sandbox-sq0idb-test-app"
CLIENT_SECRET = "sandbox-sq0csb-test-secret"
REDIRECT_URI = "https://app.example.test/oauth/square/callback"
SIGNATURE_KEY = "test-signature-key"
