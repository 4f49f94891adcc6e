"""Many tenants: organisations and their users from a PostgreSQL config store.

``directory`` is the read-side interface (Snapshot, Org, User) that routing and
authentication use; ``store`` keeps a running server's snapshot fresh; ``migrate`` owns
the store's schema; ``admin`` is ``duckgres-trio admin``; ``pgtrio`` is the trio client.
``routing`` finds a connection's organisation (TLS SNI or its database); ``engines``
gives each organisation its own directory, lockdown, engine and session queue
(``slots``). Without the ``config_store`` setting none of this is imported.
"""
