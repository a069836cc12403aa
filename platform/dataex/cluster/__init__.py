"""A PostgreSQL cluster under Patroni on one machine, for tests, benches and trials."""
