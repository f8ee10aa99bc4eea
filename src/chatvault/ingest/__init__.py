"""Bringing usage in: one module per source format, all mapping onto UsageRecord."""
