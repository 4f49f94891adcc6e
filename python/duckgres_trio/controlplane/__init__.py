"""The control plane's side of the workers: spawning and health (``worker``), the pool
with database affinity (``pool``), and sessions on workers as an ``Engine``
(``sessions``). It runs no DuckDB itself.
"""
