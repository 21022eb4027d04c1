"""Payments that arrive from payment processors (Square) rather than from the business's app."""
