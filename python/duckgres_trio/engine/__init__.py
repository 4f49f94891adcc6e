"""The engine layer: runs SQL on DuckDB and maps its results and errors to PostgreSQL terms."""
