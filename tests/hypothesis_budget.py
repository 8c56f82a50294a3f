"""How much hypothesis does: a small derandomized budget in CI, a large one on request.

`HYPOTHESIS_PROFILE=long` (see README "Reliability") runs many more examples and
steps with fresh randomness; the default `ci` profile is derandomized, so every run
of the suite tries the same examples and a failure reproduces.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
LONG = PROFILE == "long"

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    # Generous: one example normally takes milliseconds to a second, but the dev
    # server's latency varies with the machine's load.
    deadline=timedelta(seconds=20),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    deadline=timedelta(seconds=20),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(PROFILE)


def budget(ci: int, long: int) -> int:
    """`ci` examples (or steps) in the suite, `long` with HYPOTHESIS_PROFILE=long."""
    return long if LONG else ci
