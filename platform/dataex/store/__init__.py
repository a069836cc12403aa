"""PostgreSQL: the schema (tables.py), the database (database/), the single
writer (writer/), each domain's projections and reads (log/, registry/,
market/, supervision/, participants.py), and the runtime that opens it all.
"""
