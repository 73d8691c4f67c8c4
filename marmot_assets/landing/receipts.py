"""Which deliveries are accepted now, readable without the warehouse.

The warehouse's manifest is the record; a sensor cannot read it (DuckDB admits one writer
or readers, and a sensor's read would make a refresh fail to take its lock). So the door
leaves a receipt, an empty file named by the delivery's SHA-256, under
``$MARMOT_HOME/state/received/<partner>/<dataset>/`` once the delivery is committed, and
a withdrawal takes it away before the rows go. A receipt can only be missing where the
warehouse says accepted (a crash between the two), never the other way round: the worst a
missing receipt costs is one run that records the file as a duplicate. A receipt holds the
warehouse file's inode: a warehouse built anew (deleted, restored) makes old receipts void.
"""

from __future__ import annotations

import os
from pathlib import Path

from marmot_assets.landing.store import private_folder


def receipts_dir(home: Path, partner: str, dataset: str) -> Path:
    return home / "state" / "received" / partner / dataset


def _warehouse_identity() -> str | None:
    from marmot_assets.config import get_settings

    try:
        return str(get_settings().warehouse_path.stat().st_ino)
    except FileNotFoundError:
        return None


def record_receipt(home: Path, partner: str, dataset: str, sha256: str) -> None:
    folder = private_folder(receipts_dir(home, partner, dataset), home)
    (folder / sha256).write_text(_warehouse_identity() or "")


def forget_receipt(home: Path, partner: str, dataset: str, sha256: str) -> None:
    try:
        os.unlink(receipts_dir(home, partner, dataset) / sha256)
    except FileNotFoundError:
        pass


def has_receipt(home: Path, partner: str, dataset: str, sha256: str) -> bool:
    try:
        held = (receipts_dir(home, partner, dataset) / sha256).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return False
    identity = _warehouse_identity()
    return identity is not None and held == identity
