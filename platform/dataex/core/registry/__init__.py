"""The data property registry: registrations through public notice and
objections to certificates (lifecycle.py), certificate rules and records, the
registrar-signed certificate, the fingerprint rule of contracts/FINGERPRINT.md,
its contracts and errors. Imports documents, participants and log only.
"""
