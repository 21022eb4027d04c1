"""FreshBooks (issue 16): its OAuth client, accounting API client, adapter and declaration."""

PROVIDER = "freshbooks"
LABEL = "FreshBooks"
RECONNECT_FIX = f"Reconnect {LABEL} in booksync's settings, signed in as a {LABEL} user of this business."
