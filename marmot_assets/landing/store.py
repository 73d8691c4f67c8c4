"""Immutable landing: every payload received is kept byte-for-byte with its SHA-256.

Files are named ``<received UTC>__<sha256>__<original name>`` under
``$MARMOT_HOME/landing/<publisher>/<dataset>/`` and made read-only. The same bytes arriving
again are not written twice: the earlier copy is returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandedFile:
    path: Path
    sha256: str
    bytes: int
    already_landed: bool


BLOCK = 1 << 20


def sha256_of(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in blocks (a 200 MB file never sits in memory)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def land_file(path: Path, landing_root: Path, publisher: str, dataset: str) -> LandedFile:
    """Copy a received file into landing byte-for-byte, streamed, verified by its SHA-256."""
    digest, size = sha256_of(path)
    folder = landing_root / publisher / dataset
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob(f"*__{digest}__*"))
    if existing:
        return LandedFile(existing[0], digest, size, already_landed=True)
    target = folder / _landing_name(digest, path.name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    copied = hashlib.sha256()
    with os.fdopen(fd, "wb") as out, path.open("rb") as src:
        while block := src.read(BLOCK):
            copied.update(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if copied.hexdigest() != digest:  # the file changed while we read it: do not keep it
        os.unlink(tmp)
        raise OSError(f"{path} changed while it was being landed; it will be picked up again")
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return LandedFile(target, digest, size, already_landed=False)


def _landing_name(digest: str, name: str) -> str:
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "payload"
    received = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{received}__{digest}__{safe_name}"


def land(payload: bytes, landing_root: Path, publisher: str, dataset: str, name: str) -> LandedFile:
    digest = hashlib.sha256(payload).hexdigest()
    folder = landing_root / publisher / dataset
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob(f"*__{digest}__*"))
    if existing:
        return LandedFile(existing[0], digest, len(payload), already_landed=True)
    target = folder / _landing_name(digest, name)
    # Write to a temporary file and rename, so a crash never leaves half a file in landing.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    with os.fdopen(fd, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return LandedFile(target, digest, len(payload), already_landed=False)
