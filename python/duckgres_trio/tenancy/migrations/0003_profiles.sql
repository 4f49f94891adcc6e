-- Worker profiles and vCPU admission (docs/scale-out.md, "Worker profiles"): an
-- organisation's default profile and its max_vcpus, the profile and hot-idle TTL of
-- each fleet worker, and the sessions' vCPU reservations counted against max_vcpus by
-- every control plane. Never edit an applied migration: add the next number.

ALTER TABLE duckgres.orgs
    -- vCPUs (the sum of its sessions' profiles) the organisation may use at once,
    -- across all control planes; NULL: no limit
    ADD COLUMN max_vcpus integer CONSTRAINT orgs_max_vcpus_positive CHECK (max_vcpus > 0),
    -- its sessions' default profile (NULL: the deployment's)
    ADD COLUMN worker_cpu integer CONSTRAINT orgs_worker_cpu_positive CHECK (worker_cpu > 0),
    ADD COLUMN worker_memory bigint CONSTRAINT orgs_worker_memory_positive CHECK (worker_memory > 0),
    ADD COLUMN worker_ttl integer CONSTRAINT orgs_worker_ttl_valid CHECK (worker_ttl >= 0);

-- the profile a worker was activated with ({"cpu", "memory"}; also inside pool_key, so
-- a hot-idle worker is reused only for the same one) and how long it may stay hot_idle
-- (seconds: the TTL of the profile of its latest session)
ALTER TABLE duckgres.fleet_workers ADD COLUMN profile jsonb, ADD COLUMN hot_idle_ttl double precision;

-- One row per open session of an organisation with a max_vcpus: taken (under an
-- advisory lock per organisation) only while the organisation's sum stays within it.
-- A control plane's rows count only while its control_planes row is alive (fresh
-- heartbeat, not expired or stopped); others are deleted by the next admission.
CREATE TABLE duckgres.vcpu_reservations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org text NOT NULL,
    control_plane text NOT NULL,
    vcpus integer NOT NULL CONSTRAINT vcpu_reservations_vcpus_positive CHECK (vcpus > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX vcpu_reservations_org_idx ON duckgres.vcpu_reservations (org);
