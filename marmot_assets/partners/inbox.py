"""A partner's drop folder: which entries are whole deliveries, which are still arriving,
and which are refused without being opened.

A file is taken only when it is complete: its size and modification time are the same at two
looks at least ``settle`` seconds after it last changed (a file still being written changes
between them), or a ``<name>.done`` marker says the sender finished. Transfers in progress by
convention (``.name``, ``name.part``, ``.filepart``, ``.tmp``, ``.crdownload``) are left
alone, unless untouched for ``stale`` seconds: then they are reported, never silently
skipped. Symbolic links, folders, devices and pipes are refused without being followed or
opened, and set aside so they never fail again. Names are screened before they are logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from marmot_assets.landing.store import private_folder, safe_name
from marmot_assets.partners.screen import identifier_in_name

IN_TRANSFER = re.compile(r"^\.[^.]|\.(part|filepart|tmp|crdownload)$", re.IGNORECASE)
SIDECARS = (".done", ".control")  # markers and control files travel beside their delivery


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: str  # ready | arriving | stale_transfer | refused | waiting_control
    reason: str = ""
    signature: tuple = ()

    @property
    def name(self) -> str:
        return self.path.name


def signature(path: Path) -> tuple:
    info = path.lstat()
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _refusal(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link, not a file: links are never followed"
    if stat.S_ISDIR(mode):
        return "a folder, not a file: send files one by one"
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, pipe or socket): it was not opened"
    return None


def is_sidecar(name: str) -> bool:
    return name.endswith(SIDECARS)


def scan(folder: Path, *, settle: float, stale: float, control_file: bool) -> list[Entry]:
    """Every entry of the drop folder, classified, oldest first."""
    if not folder.is_dir():
        return []
    names = {p.name for p in folder.iterdir()}
    first: dict[Path, tuple] = {}
    entries: list[Entry] = []
    now = time.time()
    for path in sorted(folder.iterdir(), key=lambda p: (p.lstat().st_mtime_ns, p.name)):
        info = path.lstat()
        if refusal := _refusal(info.st_mode):
            entries.append(Entry(path, "refused", refusal))
        elif is_sidecar(path.name):
            continue
        elif IN_TRANSFER.search(path.name):
            if now - info.st_mtime > stale:
                entries.append(Entry(path, "stale_transfer", _stale_words(path.name, stale)))
        elif control_file and f"{path.name}.control" not in names:
            entries.append(Entry(path, "waiting_control", "waiting for its control file"))
        else:
            first[path] = signature(path)
    # The second look, once every candidate is at least `settle` seconds old.
    youngest = max((now - p.lstat().st_mtime for p in first), default=settle)
    if first and youngest < settle and not all(_marked(p, names) for p in first):
        time.sleep(settle - youngest)
    for path, sig in first.items():
        try:
            again = signature(path)
        except FileNotFoundError:
            continue
        old_enough = time.time() - again[2] / 1e9 >= settle
        if again == sig and (old_enough or _marked(path, names)):
            entries.append(Entry(path, "ready", signature=again))
        else:
            entries.append(Entry(path, "arriving", "still being written"))
    return entries


def _marked(path: Path, names: set[str]) -> bool:
    return f"{path.name}.done" in names


def _stale_words(name: str, stale: float) -> str:
    hours = stale / 3600
    return (
        f"an unfinished transfer left unchanged for over {hours:g} h (names starting with '.'"
        " or ending '.part' are transfers in progress): finish it by renaming the file"
    )


def unchanged(entry: Entry) -> bool:
    """Whether the file is still exactly what was read (so it may be removed)."""
    try:
        return signature(entry.path) == entry.signature
    except FileNotFoundError:
        return False


def remove(entry: Entry) -> None:
    """Empty the inbox of a received delivery and its marker or control file."""
    entry.path.unlink(missing_ok=True)
    for suffix in SIDECARS:
        entry.path.with_name(entry.path.name + suffix).unlink(missing_ok=True)


def set_aside(entry: Entry, home: Path, partner: str, dataset: str) -> Path | None:
    """Move a refused entry out of the inbox (a link is removed: it holds no data)."""
    if entry.path.is_symlink():
        entry.path.unlink()
        return None
    folder = private_folder(home / "set_aside" / partner / dataset, home)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}__{safe_name(display_name(entry.path))}"
    os.replace(entry.path, target)
    return target


def display_name(path: Path, digest: str | None = None) -> str:
    """The name to log and record: the file's own, unless it holds an identifier, then the
    SHA-256 of its content (or of the name, for what cannot be read) with its extension."""
    if identifier_in_name(path.name) is None:
        return path.name
    if digest is None:
        digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()
    suffix = "".join(s for s in path.suffixes[-1:] if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", s))
    return f"{digest}{suffix}"
