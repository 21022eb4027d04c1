"""booksync: keeps a field-service business's books in sync with its accounting system."""

__version__ = "0.1.0"
