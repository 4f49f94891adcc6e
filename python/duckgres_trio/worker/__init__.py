"""The worker process: DuckDB sessions served to the control plane over Unix sockets.

``session`` holds the sessions, ``statements`` serves the control plane's statement
path, ``flight`` the Arrow Flight SQL endpoint (control actions, ADBC clients), and
``main`` starts a worker. Nothing here knows the PostgreSQL wire protocol.
"""
