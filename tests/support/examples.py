"""How many examples a codec-parity Hypothesis test runs.

The Rust-vs-Python parity tests do not depend on the server mode or the active codec,
yet CI runs the suite twice (once per mode and codec). The second run sets
EXAMPLES_SCALE=0.25 and repeats them at a quarter of their length: a different random
draw, at a fraction of the time.
"""

from __future__ import annotations

import os

SCALE = float(os.environ.get("EXAMPLES_SCALE", "1"))


def examples(n: int) -> int:
    """``n`` scaled by EXAMPLES_SCALE, never below 20."""
    return max(20, round(n * SCALE))
