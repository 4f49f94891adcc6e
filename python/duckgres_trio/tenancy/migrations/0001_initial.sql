-- The config store's first schema: organisations, their users, the users' sealed
-- secrets, and the control planes that are running. Applied once, by
-- duckgres_trio.tenancy.migrate, inside a transaction, under an advisory lock.
-- Never edit an applied migration: add the next number instead.

CREATE TABLE duckgres.orgs (
    -- the organisation's id, also the DNS label of its managed hostname
    name text PRIMARY KEY
        CONSTRAINT orgs_name_label CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    -- the startup database that selects this organisation (SNI off / passthrough)
    database_name text NOT NULL
        CONSTRAINT orgs_database_name_key UNIQUE
        CONSTRAINT orgs_database_name_valid CHECK (database_name <> '' AND length(database_name) <= 63),
    -- a second DNS label that reaches this organisation
    hostname_alias text
        CONSTRAINT orgs_hostname_alias_key UNIQUE
        CONSTRAINT orgs_hostname_alias_label CHECK (hostname_alias ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    max_connections integer CONSTRAINT orgs_max_connections_positive CHECK (max_connections > 0),
    max_workers integer CONSTRAINT orgs_max_workers_positive CHECK (max_workers > 0),
    disabled boolean NOT NULL DEFAULT false,
    -- default DuckDB settings of the organisation's sessions: a JSON object of strings
    worker_settings jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT orgs_worker_settings_object CHECK (jsonb_typeof(worker_settings) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE duckgres.users (
    org text NOT NULL REFERENCES duckgres.orgs (name) ON DELETE CASCADE ON UPDATE CASCADE,
    name text NOT NULL CONSTRAINT users_name_valid CHECK (name <> '' AND length(name) <= 63),
    -- pg_authid.rolpassword's formats only: a password is never stored
    verifier text NOT NULL CONSTRAINT users_verifier_format
        CHECK (verifier ~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$'
               OR verifier ~ '^md5[0-9a-f]{32}$'),
    disabled boolean NOT NULL DEFAULT false,
    max_connections integer CONSTRAINT users_max_connections_positive CHECK (max_connections > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org, name)
);

CREATE TABLE duckgres.user_secrets (
    org text NOT NULL,
    user_name text NOT NULL,
    name text NOT NULL CONSTRAINT user_secrets_name_valid CHECK (name <> '' AND length(name) <= 255),
    -- version byte, 12-byte nonce, AES-256-GCM ciphertext and tag; associated data
    -- org, user and name, so a blob moved to another row does not open
    sealed bytea NOT NULL CONSTRAINT user_secrets_sealed_size CHECK (length(sealed) BETWEEN 29 AND 65536),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org, user_name, name),
    FOREIGN KEY (org, user_name) REFERENCES duckgres.users (org, name)
        ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE duckgres.control_planes (
    id text PRIMARY KEY,  -- <host>-<pid>-<random>, new at every start
    host text NOT NULL,
    pid integer NOT NULL,
    port integer NOT NULL,
    version text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat timestamptz NOT NULL DEFAULT now(),
    draining boolean NOT NULL DEFAULT false,
    stopped_at timestamptz
);
