"""Token vault (KMS envelope encryption) and the refresh lease."""
