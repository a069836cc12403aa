"""Delivery: `dataex gateway`, in front of a provider's own data or model API.

It admits only holders: a caller signs each request (contracts/SPEC.md §12, bound
to the gateway's origin); a data-licence product needs a licence valid now whose
signed document and terms fit, a token product needs units. holders.py keeps what
dataex says about holders (refreshed, verified, served from memory while dataex
is away, for a configured staleness); access.py decides; meter.py reads the
tokens an upstream answer used; journal.py keeps usage durable on local disk;
reporter.py burns it on dataex in signed, idempotent consumption reports;
proxy.py is the ASGI app; demo.py a small upstream to try it with.
"""
