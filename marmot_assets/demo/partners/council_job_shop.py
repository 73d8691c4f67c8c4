"""Council Job Shop: pseudonymised client records, one CSV per financial-year quarter.

Each quarter's export is the caseload active in that quarter, with outcomes as known at the
quarter's end, so a client who started in Q1 and found work in Q2 shows "None" in the Q1 file
and "Job" in the Q2 file. More clients come from deprived areas, and fewer of those facing
more barriers reach a job.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.partners import drop_folder
from marmot_assets.partners.pseudonymise import pseudonymise_value

# DEMO ONLY: a fixed, public key so the demo is byte-stable. A real data-sharing agreement's
# key is secret, held by the Job Shop, and read from the environment by `marmot pseudonymise`.
DEMO_ONLY_HMAC_KEY = b"DEMO-ONLY-council-job-shop-key-never-use-for-real-data"

FIRST_DAY = dt.date(2023, 4, 1)  # 2023-24 Q1
QUARTERS = 8
BARRIERS = ["disability", "care_leaver", "ex_offender", "refugee", "lone_parent"]
HEADER = [
    "Client key",
    "LSOA code",
    "Ward code",
    "Disability",
    "Care leaver",
    "Ex-offender",
    "Refugee",
    "Lone parent",
    "Start date",
    "Outcome",
    "Outcome date",
]


def quarter_bounds(step: int) -> tuple[str, dt.date, dt.date]:
    """(label like 2023-24_Q1, first day, last day) of the step-th quarter from FIRST_DAY."""
    start = (pd.Timestamp(FIRST_DAY) + pd.DateOffset(months=3 * step)).date()
    end = (pd.Timestamp(start) + pd.DateOffset(months=3) - pd.Timedelta(days=1)).date()
    year = start.year if start.month >= 4 else start.year - 1
    return f"{year}-{(year + 1) % 100:02d}_Q{step % 4 + 1}", start, end


def demo_keys(prefix: str, key: bytes):
    """HMAC keys of demo references, as the partner's pseudonymiser would make them."""
    number = 0
    while True:
        number += 1
        yield pseudonymise_value(f"{prefix}{number:07d}", key)


def _clients(lsoas, rng) -> list[dict]:
    days = (quarter_bounds(QUARTERS - 1)[2] - FIRST_DAY).days + 1
    keys = demo_keys("JS", DEMO_ONLY_HMAC_KEY)
    clients = []
    for lsoa in lsoas:
        dep = lsoa.deprivation
        # Referrals per resident rise steeply with deprivation (about 3,000 clients in 2 years).
        for _ in range(int(rng.poisson(lsoa.population[0] * 0.0065 * (0.3 + 2.0 * dep)))):
            barriers = {
                "disability": rng.random() < 0.22 + 0.08 * dep,
                "care_leaver": rng.random() < 0.04 + 0.04 * dep,
                "ex_offender": rng.random() < 0.07 + 0.08 * dep,
                "refugee": rng.random() < 0.03 + 0.12 * dep,
                "lone_parent": rng.random() < 0.10 + 0.10 * dep,
            }
            p_job = max(
                0.08,
                0.46
                - 0.12 * barriers["disability"]
                - 0.10 * barriers["care_leaver"]
                - 0.14 * barriers["ex_offender"]
                - 0.08 * barriers["refugee"]
                - 0.08 * barriers["lone_parent"]
                - 0.06 * dep,
            )
            p_training = 0.16 + 0.08 * barriers["refugee"] + 0.06 * barriers["care_leaver"]
            p_volunteering = 0.07 + 0.05 * barriers["disability"]
            p_none = max(0.0, 1 - p_job - p_training - p_volunteering)
            outcome = str(
                rng.choice(
                    ["job", "training", "volunteering", "none"],
                    p=[p_job, p_training, p_volunteering, p_none],
                )
            )
            start = FIRST_DAY + dt.timedelta(days=int(rng.integers(0, days)))
            closed = start + dt.timedelta(days=int(14 + rng.gamma(2.0, 50.0)))
            clients.append(
                {
                    "key": next(keys),
                    # About 1 in 14 addresses match no LSOA: the ward the client gave instead.
                    "lsoa": "" if rng.random() < 0.07 else lsoa.code,
                    "ward": lsoa.ward_code,
                    **barriers,
                    "start": start,
                    "outcome": outcome,
                    "closed": closed,
                }
            )
    return sorted(clients, key=lambda c: (c["start"], c["key"]))


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_job_shop", "clients")
    clients = _clients(lsoas, rng)
    written = []
    for step in range(QUARTERS):
        label, first, last = quarter_bounds(step)
        rows = []
        for c in clients:
            if c["start"] > last or c["closed"] < first:
                continue  # not on the caseload this quarter
            known = c["closed"] <= last and c["outcome"] != "none"
            rows.append(
                [
                    c["key"],
                    c["lsoa"],
                    "" if c["lsoa"] else c["ward"],
                    *("Yes" if c[b] else "No" for b in BARRIERS),
                    c["start"].strftime("%d/%m/%Y"),
                    c["outcome"].capitalize() if known else "None",
                    c["closed"].strftime("%d/%m/%Y") if known else "",
                ]
            )
        path = folder / f"job_shop_clients_{label}.csv"
        written.append(write_csv(path, HEADER, rows))  # exported through Excel: CRLF
    return written
