"""The single writer: the sequencer (group commit, one transaction per batch,
a failing command isolated), the signature pool, the state loader at start,
and the projection of each event into tables (projection.py dispatches to the
domains' projections).
"""
