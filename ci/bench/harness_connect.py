"""Connection rate: `pgbench -C`, a new connection per transaction, each one TLS plus
SCRAM-SHA-256, the way a client without a pool connects to a production server.

This is the cost a server pays per connection (handshake, key exchange, 4096 PBKDF2
rounds on each side, session start-up; for the control plane also handing the session
to a worker), which the pooled workloads never see. Servers without TLS or SCRAM
(buenavista) are "n/a" rather than measured in plaintext, which would not be the same
work.
"""

from __future__ import annotations

from pathlib import Path

from harness_common import Bench, Workload, alternate
from pgbench_lookup import pgbench_tps


def run(bench: Bench) -> list[Workload]:
    script = Path(bench.workdir) / "connect_select1.sql"
    script.write_text("SELECT 1;\n")
    workloads = [Workload("connections", f"pgbench -C (TLS + SCRAM) -c {clients}", "conn/s",
                          True, params={"clients": clients})
                 for clients in ((1,) if bench.smoke else (1, 8))]

    def make(workload: Workload, system):
        return lambda: pgbench_tps(system.pgbench_args("postgres", sslmode="require"), "simple",
                                   bench.seconds, script, workload.params["clients"], ("-C",))

    alternate(bench.rounds, workloads, bench.contenders(
        make, applies=lambda s: "" if s.tls_scram else "n/a: no TLS/SCRAM"))
    return workloads
