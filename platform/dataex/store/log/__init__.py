"""The log in PostgreSQL: entries and their reads (entries.py), the Merkle
tree's stored nodes and tiles (merkle.py), checkpoints and the checkpointer
that signs them, witness cosignatures.
"""
