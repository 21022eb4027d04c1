"""Ports and adapters for every outside system: one adapter per provider (design.md, rule 2)."""
