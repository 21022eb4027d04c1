"""The sync engine: documents in, provider objects out, exactly once."""
