"""The remote worker fleet (issue 23, docs/scale-out.md): long-lived worker processes
on any host, registered in the config store, claimed by control planes with fenced,
compare-and-set ownership. ``agent`` and ``fence`` run in the worker; ``backend`` and
``janitor`` in the control plane; ``records`` is the SQL both sides share."""
