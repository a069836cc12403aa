"""dataex: data property registration and trading with a verifiable audit log."""

__version__ = "0.1.0"
