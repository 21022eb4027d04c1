"""QuickBooks Online adapter: OAuth (``oauth``), the API client (``client``), name cleaning
(``names``), document mapping (``mapping``) and the ``AccountingProvider`` (``adapter``).

Nothing is imported here: a function that reads the declaration alone (a webhook receiver)
loads neither the client nor the adapter."""
