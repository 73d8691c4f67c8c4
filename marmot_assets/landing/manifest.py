"""The landing manifest: one row per payload received, saying what became of it.

``raw.landing_manifest`` records every file or API response, partner or publisher: its
SHA-256, size, when it came, and its status (``loaded``, ``loaded_with_quarantine``,
``rejected``, ``duplicate``, ``withdrawn``). A delivery is *accepted* while its latest row
says ``loaded`` or ``loaded_with_quarantine``. ``raw.quarantine`` holds the rows a contract
refused, by row number, column and reason (never a value of a record-level dataset).
``lsoa_vintage`` says which LSOA codes the door saw in a delivery (``LSOA 2021``, ``LSOA 2011
(converted)``, ``mixed``, ``LSOA 2011`` on a place on LSOA 2011; null: none), and
``raw.lsoa_conversions`` each LSOA 2011 code it converted to LSOA 2021 (partners/lsoa_conversion).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from marmot_assets import catalog

MANIFEST_DDL = """
create schema if not exists raw;
create table if not exists raw.landing_manifest (
    partner varchar not null, dataset varchar not null, original_name varchar not null,
    sha256 varchar not null, bytes bigint not null, received_at timestamp not null,
    status varchar not null, rows_read bigint, rows_accepted bigint, rows_quarantined bigint,
    error varchar, landing_path varchar, rows_other_places bigint
);
alter table raw.landing_manifest add column if not exists rows_other_places bigint;
alter table raw.landing_manifest add column if not exists rows_replaced bigint;
alter table raw.landing_manifest add column if not exists notes varchar;
alter table raw.landing_manifest add column if not exists actor varchar;
alter table raw.landing_manifest add column if not exists lsoa_vintage varchar;
create table if not exists raw.quarantine (
    partner varchar not null, dataset varchar not null, sha256 varchar not null,
    original_name varchar not null, row_number bigint, column_name varchar,
    reason varchar not null, value varchar, received_at timestamp not null
);
create table if not exists raw.lsoa_conversions (
    partner varchar not null, dataset varchar not null, sha256 varchar not null,
    original_name varchar not null, lsoa11_code varchar not null, lsoa21_code varchar not null,
    change_indicator varchar not null, share double not null, rows_converted bigint not null,
    weight_source varchar, received_at timestamp not null
);
"""


def ensure_manifest(con) -> None:
    """The manifest's tables made, or grown by columns added since, once a connection
    (``catalog.once``: a step's connection takes many deliveries)."""
    catalog.once(con, MANIFEST_DDL, lambda: con.execute(MANIFEST_DDL))


ACCEPTED = ("loaded", "loaded_with_quarantine")


@dataclass
class Verdict:
    partner: str
    dataset: str
    original_name: str
    sha256: str
    bytes: int
    status: str = "loaded"
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_other_places: int = 0
    rows_replaced: int = 0  # rows of earlier deliveries this one replaced (same periods)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what the sender should know
    landing_path: str | None = None
    actor: str | None = None  # who withdrew a delivery
    lsoa_vintage: str | None = None  # the LSOA codes the door saw (see the module's doc)
    conversions: list[dict] = field(default_factory=list)  # rows of raw.lsoa_conversions
    merged_lsoas: bool = False  # conversion brought rows of counts onto one LSOA (to add up)
    received_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)
    )
    quarantine: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.original_name}: {self.status}"
        if self.status in ("loaded", "loaded_with_quarantine"):
            text += (
                f" ({self.rows_accepted} of {self.rows_read} rows loaded, "
                f"{self.rows_quarantined} quarantined"
            )
            if self.rows_other_places:
                text += f", {self.rows_other_places} for other places skipped"
            if self.rows_replaced:
                text += f", {self.rows_replaced} earlier rows replaced"
            text += ")"
        if self.error:
            text += f" - {self.error}"
        for note in self.notes:
            text += f"; note: {note}"
        return text


def record_verdict(con, verdict: Verdict) -> None:
    con.execute(
        "insert into raw.landing_manifest (partner, dataset, original_name, sha256, bytes, "
        "received_at, status, rows_read, rows_accepted, rows_quarantined, error, landing_path, "
        "rows_other_places, rows_replaced, notes, actor, lsoa_vintage) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            verdict.partner,
            verdict.dataset,
            verdict.original_name,
            verdict.sha256,
            verdict.bytes,
            verdict.received_at,
            verdict.status,
            verdict.rows_read,
            verdict.rows_accepted,
            verdict.rows_quarantined,
            verdict.error,
            verdict.landing_path,
            verdict.rows_other_places,
            verdict.rows_replaced,
            "; ".join(verdict.notes) or None,
            verdict.actor,
            verdict.lsoa_vintage,
        ],
    )
    if verdict.conversions and verdict.status in ACCEPTED:
        frame = pd.DataFrame(verdict.conversions)
        for name, value in [
            ("partner", verdict.partner),
            ("dataset", verdict.dataset),
            ("sha256", verdict.sha256),
            ("original_name", verdict.original_name),
            ("received_at", verdict.received_at),
        ]:
            frame[name] = value
        con.register("_conversions", frame)
        con.execute("insert into raw.lsoa_conversions by name select * from _conversions")
        con.unregister("_conversions")
    if verdict.quarantine and verdict.status != "duplicate":
        frame = pd.DataFrame(verdict.quarantine)
        frame.insert(0, "original_name", verdict.original_name)
        frame.insert(0, "sha256", verdict.sha256)
        frame.insert(0, "dataset", verdict.dataset)
        frame.insert(0, "partner", verdict.partner)
        frame["received_at"] = verdict.received_at
        con.register("_quarantine", frame)
        con.execute("insert into raw.quarantine by name select * from _quarantine")
        con.unregister("_quarantine")


def accepted_before(con, partner: str, dataset: str, sha256: str) -> bool:
    """Whether these bytes are an accepted delivery now (a rejected or withdrawn one is not:
    sending it again has it judged again)."""
    latest = con.execute(
        "select status from raw.landing_manifest where partner = ? and dataset = ? "
        "and sha256 = ? and status <> 'duplicate' order by received_at desc limit 1",
        [partner, dataset, sha256],
    ).fetchone()
    return latest is not None and latest[0] in ACCEPTED
