"""The Xero sandbox: Xero's identity service (consent with several organisations, tokens,
/connections) and the Accounting API calls booksync makes, on the sandbox kit."""
