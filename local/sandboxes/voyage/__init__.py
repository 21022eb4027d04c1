"""The Voyage AI sandbox: ``POST /v1/embeddings`` with Voyage's request and answer shapes, token
usage, per-request and per-minute limits and error answers, and a ledger of what was billed, on
the sandbox kit."""
