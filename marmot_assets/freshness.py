"""How stale a source may grow before the UI says so: Dagster freshness policies from each
source's publication cadence (a partner contract's ``publication_cadence``, a publisher's
release rhythm). An asset warns when its last materialisation is older than a cadence and a
margin, and fails when it is older than that and a second margin: a monthly source missed once
warns, missed twice fails. Sources refreshed on demand (lookups, IoD releases) have none."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

# cadence -> (warn after, fail after)
WINDOWS = {
    "monthly": (timedelta(days=35), timedelta(days=65)),
    "quarterly": (timedelta(days=100), timedelta(days=190)),
    "termly": (timedelta(days=130), timedelta(days=250)),
    "annual": (timedelta(days=380), timedelta(days=750)),
}
# The marts follow their monthly sources: a month without a refresh warns.
MARTS_CADENCE = "monthly"


def freshness_for(cadence: str | None) -> dg.FreshnessPolicy | None:
    """The freshness policy of a source published at ``cadence``; None for ad hoc sources."""
    if cadence not in WINDOWS:
        return None
    warn, fail = WINDOWS[cadence]
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)
