"""What every signed document is made of: canonical JSON (RFC 8785), base64url,
Ed25519 keys and signatures, UTC time, the contract base types, the error kinds.

The lowest room of core: every other domain imports it; it imports none of them.
"""
