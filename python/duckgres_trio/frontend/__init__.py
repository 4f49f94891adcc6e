"""The connection front end: TLS, authentication and session start-up, above the wire codec."""
