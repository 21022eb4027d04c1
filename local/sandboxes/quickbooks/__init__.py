"""QuickBooks Online sandbox: Intuit OAuth 2.0, the Accounting API v3 and a control API on loopback.

``server.QuickBooksSandbox`` runs it (in a background thread or via ``python -m``);
``control.SandboxControl`` is the client tests and the demo use to steer and inspect it.
README.md in this folder says what is emulated and how faithfully.
"""
