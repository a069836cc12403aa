"""The registry's tables: projection of registry events, and its reads."""
