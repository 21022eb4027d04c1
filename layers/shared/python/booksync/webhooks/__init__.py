"""Provider webhooks: verify, enqueue, answer (the receiver); dedupe and act (the consumer)."""
