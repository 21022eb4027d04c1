"""Square: OAuth (``oauth.py``) and the Payments/Refunds/Payouts/Locations API client (``client.py``)."""
