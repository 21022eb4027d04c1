"""Provider sandboxes that answer on loopback as the real services do."""
