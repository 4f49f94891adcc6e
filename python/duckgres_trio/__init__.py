"""duckgres-trio: a PostgreSQL-wire server in front of DuckDB."""

__version__ = "0.1.0"
