"""PostgreSQL: schema, the single-writer sequencer, and read queries."""
