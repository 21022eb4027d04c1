"""QuickBooks Online adapter: OAuth (``oauth``), the API client (``client``), name cleaning
(``names``), document mapping (``mapping``) and the ``AccountingProvider`` (``adapter``)."""

from booksync.providers.quickbooks.adapter import QuickBooksProvider
from booksync.providers.quickbooks.client import QuickBooksClient
from booksync.providers.quickbooks.oauth import QuickBooksOAuth

__all__ = ["QuickBooksClient", "QuickBooksOAuth", "QuickBooksProvider"]
