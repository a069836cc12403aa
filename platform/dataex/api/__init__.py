"""Litestar HTTP API: thin controllers over store/ and core/."""
