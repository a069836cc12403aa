"""The participant directory: admissions, roles and keys (directory.py), their
contracts, and the signed read requests members make with those keys
(request_auth.py: SPEC section 12, a nonce each, replays refused).
"""
