"""The client side: the SDK that builds, signs and submits documents and makes
signed reads (sdk.py), and fingerprinting local files (fingerprint.py).
"""
