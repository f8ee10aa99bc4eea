"""`chatvault sync`: usage and billed costs read from the providers' admin APIs (docs/sync.md)."""
