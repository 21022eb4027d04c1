"""A local look-alike of Square's Connect API: OAuth, locations, payments, refunds, payouts and
payout entries with cursors, and webhooks signed as Square signs them (see README.md)."""
