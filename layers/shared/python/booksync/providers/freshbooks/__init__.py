"""FreshBooks (issue 16): its OAuth client, accounting API client, adapter and declaration."""

PROVIDER = "freshbooks"
LABEL = "FreshBooks"
