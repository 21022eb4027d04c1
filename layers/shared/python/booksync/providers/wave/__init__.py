"""Wave (issue 17): its GraphQL client, adapter and declaration; the names every module of the
package shares (its OAuth client, settings and wizard reads name it the same way)."""

PROVIDER = "wave"
LABEL = "Wave"
RECONNECT_FIX = f"Reconnect {LABEL} in booksync's settings, signed in as a {LABEL} user of this business."
