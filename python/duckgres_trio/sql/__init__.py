"""SQL handling between the protocol and the engine: splitting, classification.

Translation of PostgreSQL-specific syntax for DuckDB arrives with the compatibility
layer; for now statements pass through unchanged.
"""

from duckgres_trio.sql.statements import Statement, split_statements

__all__ = ["Statement", "split_statements"]
