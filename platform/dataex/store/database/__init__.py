"""The database itself: the engine (engine.py), the embedded PostgreSQL server,
migrations, the application role, backup and restore.
"""
