"""Xero (issue 15). Only the OAuth client so far: Xero is not in ``providers/registry.py`` until
its adapter exists (registering it would open ``/integrations/xero`` routes that cannot work)."""
