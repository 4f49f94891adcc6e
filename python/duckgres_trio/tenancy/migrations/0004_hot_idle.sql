-- Hot-idle workers of the fleet (docs/scale-out.md, "Hot-idle"): a worker whose last
-- session ended stays activated for its organisation for hot_idle_ttl seconds from
-- state_since, and an organisation keeps at most max_hot_idle_workers of them. Never
-- edit an applied migration.

-- the TTL the owning control plane wrote with the state 'hot_idle' (its deployment's
-- worker_idle_timeout, or the session profile's worker_ttl); 0: none. IF NOT EXISTS:
-- 0003_profiles.sql adds the same column for the profiles
ALTER TABLE duckgres.fleet_workers ADD COLUMN IF NOT EXISTS hot_idle_ttl double precision;

-- the most hot-idle fleet workers the organisation keeps; the janitor retires the
-- longest idle above it. NULL: no cap of its own
ALTER TABLE duckgres.orgs ADD COLUMN max_hot_idle_workers integer
    CONSTRAINT orgs_max_hot_idle_workers_positive CHECK (max_hot_idle_workers > 0);
