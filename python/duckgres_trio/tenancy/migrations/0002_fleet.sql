-- The remote worker fleet (docs/scale-out.md): long-lived `duckgres-trio worker`
-- processes register here, control planes claim them with compare-and-set writes that
-- bump owner_epoch, and the janitor (one at a time, by advisory lock) cleans up after
-- control planes that went silent. Never edit an applied migration: add the next number.

-- A control plane silent longer than the lease is marked expired by the janitor; one
-- that heartbeats again clears the mark (its workers have been reclaimed meanwhile).
ALTER TABLE duckgres.control_planes ADD COLUMN expired_at timestamptz;

CREATE TABLE duckgres.fleet_workers (
    -- the registered id: stable across restarts of the same worker (same name), and
    -- what duckgres_worker() returns on a session it serves
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the advertised Flight address, host:port; one row per worker address
    name text NOT NULL CONSTRAINT fleet_workers_name_key UNIQUE,
    -- where its statement path listens (host:port)
    statement_address text NOT NULL,
    tls boolean NOT NULL DEFAULT false,
    version text NOT NULL,
    cpu integer NOT NULL CONSTRAINT fleet_workers_cpu_positive CHECK (cpu > 0),
    memory bigint NOT NULL CONSTRAINT fleet_workers_memory_positive CHECK (memory > 0),
    host text NOT NULL,
    pid integer NOT NULL,
    -- a new random value at every registration: a process whose row was taken over by
    -- another registration of the same name notices at its next heartbeat
    incarnation text NOT NULL,
    state text NOT NULL CONSTRAINT fleet_workers_state_valid CHECK (state IN (
        'spawning', 'idle', 'reserved', 'activating', 'hot', 'hot_idle', 'draining',
        'retired', 'lost')),
    owner_cp text,
    -- bumped by every claim and every registration; the worker refuses control actions
    -- carrying an older one (fencing)
    owner_epoch bigint NOT NULL DEFAULT 0,
    org text,
    database text,
    -- what the worker serves (database and user): a hot_idle worker is reused by any
    -- control plane only for the same key
    pool_key text,
    retire_reason text,
    registered_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    state_since timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX fleet_workers_state_idx ON duckgres.fleet_workers (state);
CREATE INDEX fleet_workers_owner_idx ON duckgres.fleet_workers (owner_cp);
