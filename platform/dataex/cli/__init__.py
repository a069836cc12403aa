"""The `dataex` command."""
