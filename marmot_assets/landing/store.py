"""Immutable landing: every payload received is kept byte-for-byte with its SHA-256.

Files are named ``<received UTC>__<sha256>__<safe name>`` under
``$MARMOT_HOME/landing/<publisher>/<dataset>/``, readable by the platform's user only (files
0400, folders 0700). A copy is written to a temporary ``.incoming-*`` file, fsynced,
verified against the digest of what was read, renamed into place and its folder fsynced, so
a crash at any moment leaves either no landed file or a whole one; leftovers are removed by
``clean_incoming``. The same bytes arriving again are not written twice.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20
FILE_MODE = 0o400
FOLDER_MODE = 0o700
INCOMING_PREFIX = ".incoming-"


@dataclass(frozen=True)
class LandedFile:
    path: Path
    sha256: str
    bytes: int
    already_landed: bool


def sha256_of(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in blocks (a 200 MB file never sits in memory)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def copy_hashed(source: BinaryIO, out: BinaryIO) -> tuple[str, int]:
    """Copy ``source`` to ``out`` in blocks: the SHA-256 and size of what was copied."""
    digest, size = hashlib.sha256(), 0
    while block := source.read(BLOCK):
        digest.update(block)
        size += len(block)
        out.write(block)
    return digest.hexdigest(), size


def private_folder(folder: Path, root: Path | None = None) -> Path:
    """Create ``folder`` readable by the platform's user only, and likewise every folder
    between it and ``root`` (default: its parent; ``root`` itself is left as it is)."""
    root = root or folder.parent
    root.mkdir(parents=True, exist_ok=True)
    levels = [folder, *(p for p in folder.parents if root in p.parents)]
    for level in reversed(levels):
        level.mkdir(exist_ok=True, mode=FOLDER_MODE)
        os.chmod(level, FOLDER_MODE)
    return folder


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")[:120] or "payload"


def fsync_path(path: Path) -> None:
    """Flush ``path`` (a file, or a folder after a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def land(
    payload: Path | bytes,
    landing_root: Path,
    publisher: str,
    dataset: str,
    name: str | None = None,
    reserve_bytes: int = 0,
) -> LandedFile:
    """Keep ``payload`` (a received file, or the bytes of an API response) in landing.

    ``name`` is the name recorded in the landing file's name (default: the file's own); pass
    a screened name when the original may hold an identifier. Raises ``OSError(ENOSPC)``
    before writing anything when the copy would leave less than ``reserve_bytes`` free.
    """
    size = len(payload) if isinstance(payload, bytes) else payload.stat().st_size
    private_folder(landing_root)
    free = shutil.disk_usage(landing_root).free
    if free - size < reserve_bytes:
        raise OSError(errno.ENOSPC, f"{free // 2**20} MiB free on the landing disk", name)
    if isinstance(payload, bytes):
        name = name or "payload"
        with io.BytesIO(payload) as stream:
            return _land_stream(stream, landing_root, publisher, dataset, name)
    with payload.open("rb") as stream:
        return _land_stream(stream, landing_root, publisher, dataset, name or payload.name)


def landed_path(folder: Path, sha256: str) -> Path | None:
    """The file in a landing folder holding the bytes of this SHA-256 (landed files are named
    ``<received>__<sha256>__<name>``), the first landed if several; None if there is none."""
    found = sorted(folder.glob(f"*__{sha256}__*"))
    return found[0] if found else None


def _land_stream(
    stream: BinaryIO, landing_root: Path, publisher: str, dataset: str, name: str
) -> LandedFile:
    private_folder(landing_root)
    folder = private_folder(landing_root / publisher / dataset, root=landing_root)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=INCOMING_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            sha, size = copy_hashed(stream, out)
            out.flush()
            os.fsync(out.fileno())
        existing = landed_path(folder, sha)
        if existing is not None:
            os.unlink(tmp)
            return LandedFile(existing, sha, size, already_landed=True)
        os.chmod(tmp, FILE_MODE)
        target = folder / f"{_received()}__{sha}__{safe_name(name)}"
        os.replace(tmp, target)
        fsync_path(folder)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return LandedFile(target, sha, size, already_landed=False)


def _received() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def clean_incoming(landing_root: Path) -> list[Path]:
    """Remove ``.incoming-*`` files a crash left behind (never a landed file: those are
    renamed into place only when whole). Returns what was removed."""
    if not landing_root.is_dir():
        return []
    removed = []
    for leftover in landing_root.rglob(f"{INCOMING_PREFIX}*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink()
            removed.append(leftover)
    return removed
