"""Xero (issue 15): its OAuth client, Accounting API client, adapter and declaration."""
