"""Replaying periods of a drop-folder source from the deliveries already received.

A backfill of a partitioned drop-folder source (``marmot_assets.partners.partitions``) cannot
ask the partner for a period: it rebuilds the raw rows of the periods chosen from the bytes
kept in landing. For each period, the delivery that supplies it now (the one whose rows are
in ``raw``) is read again through the door's own reading and checks, under the current
contract and code, and its rows of those periods replace the ones in ``raw``, one
transaction per delivery. Nothing else changes: not its other periods, not the manifest
(a replay is not a receipt), not the quarantine record. The same bytes read by the same code
give the same rows, so a replay run twice changes nothing.

A landed copy whose SHA-256 is no longer the delivery's, or that is missing, is not replayed
(its rows stay and the outcome says why); so is a delivery the current contract would now
reject. A period no delivery holds is named as such.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from marmot_assets.landing.manifest import ACCEPTED, Verdict
from marmot_assets.landing.store import landed_path, sha256_of
from marmot_assets.partners.contract import Contract
from marmot_assets.partners.door import inspect
from marmot_assets.partners.load import STAGED, Staging
from marmot_assets.partners.partitions import period_label
from marmot_assets.partners.validate import PlaceCodes


@dataclass
class Replayed:
    """What a replay did, per delivery and per period."""

    deliveries: list[dict] = field(default_factory=list)  # file, periods, rows, outcome
    unheld: list[str] = field(default_factory=list)  # periods no delivery holds

    @property
    def failed(self) -> list[dict]:
        return [d for d in self.deliveries if d["outcome"] != "replayed"]


def landed_copy(home: Path, contract: Contract, sha256: str) -> Path | None:
    """The delivery's bytes in landing (found by digest: the home may have moved)."""
    return landed_path(home / "landing" / contract.partner / contract.dataset, sha256)


def suppliers(
    con, contract: Contract, labels: list[str]
) -> list[tuple[str, list[str], dt.datetime]]:
    """(SHA-256, its periods among ``labels``, when it came) of each delivery in ``raw``."""
    period = f'"{contract.period}"'
    return con.execute(
        f"select _sha256, list(distinct {period} order by {period}), min(_received_at) "
        f"from raw.{contract.table} where {period} in (select unnest(?::varchar[])) "
        "group by _sha256 order by 3, 1",
        [labels],
    ).fetchall()


def replay(con, contract: Contract, place: PlaceCodes, home: Path, keys: list[str]) -> Replayed:
    """Rebuild the raw rows of the partitions ``keys`` from their deliveries' landed bytes."""
    labels = [period_label(contract.partitions, key) for key in keys]
    outcome, held = Replayed(), set()
    for sha, periods, received_at in suppliers(con, contract, labels):
        held.update(periods)
        outcome.deliveries.append(
            _replay_one(con, contract, place, home, sha, periods, received_at)
        )
    outcome.unheld = [label for label in labels if label not in held]
    return outcome


def _replay_one(con, contract, place, home, sha, periods, received_at) -> dict:
    name, size = con.execute(
        "select original_name, bytes from raw.landing_manifest where partner = ? and "
        "dataset = ? and sha256 = ? and status in (select unnest(?::varchar[])) "
        "order by received_at desc limit 1",
        [contract.partner, contract.dataset, sha, list(ACCEPTED)],
    ).fetchone() or (f"delivery {sha[:12]}", 0)
    done = {"file": name, "sha256": sha[:12], "periods": ", ".join(periods)}
    landed = landed_copy(home, contract, sha)
    if landed is None:
        return {**done, "rows": None, "outcome": "not replayed: its landed copy is missing"}
    if sha256_of(landed)[0] != sha:
        return {**done, "rows": None,
                "outcome": "not replayed: its landed copy is not the bytes received"}  # fmt: skip
    verdict = Verdict(contract.partner, contract.dataset, name, sha, size)
    verdict.received_at = received_at  # the rows keep when they came
    staging = Staging(con, contract, verdict)
    try:
        inspect(landed, contract, place, verdict, on_chunk=staging.append)
        if verdict.status not in ACCEPTED:
            why = f"not replayed: the door now rejects it ({verdict.error})"
            return {**done, "rows": None, "outcome": why}
        period = f'"{contract.period}"'
        con.execute(
            f"delete from {STAGED} where {period} not in (select unnest(?::varchar[]))",
            [periods],
        )
        if verdict.merged_lsoas:
            staging.consolidate()
        staging.enforce_unique()
        rows = _commit(con, contract, sha, periods)
    finally:
        staging.drop()
    return {**done, "rows": rows, "outcome": "replayed"}


def _commit(con, contract: Contract, sha: str, periods: list[str]) -> int:
    """The delivery's rows of these periods, replaced in one transaction."""
    table, period = f"raw.{contract.table}", f'"{contract.period}"'
    con.execute("begin transaction")
    try:
        con.execute(
            f"delete from {table} where _sha256 = ? and {period} in (select unnest(?::varchar[]))",
            [sha, periods],
        )
        con.execute(f"insert into {table} by name select * from {STAGED}")
        rows = con.execute(f"select count(*) from {STAGED}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return int(rows)
