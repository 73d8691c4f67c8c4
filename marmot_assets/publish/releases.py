"""Releases on disk: where they live, which one is served, the atomic swap and rollback.

```
$MARMOT_HOME/serving/
  marmot.duckdb              the served release (a copy of one release's file); BI reads this
  current.json               which release is served, since when, and how (publish/rollback)
  releases/<release_id>/     the last N published releases (MarmotSettings.releases_kept)
    marmot.duckdb            every published table, `changes` and `release_manifest`
    manifest.json            the release manifest
    parquet/<table>.parquet, csv/<table>.csv
  staging/<release_id>/      a release being written or audited; moved to releases/ when
                             published, left here (pruned later) when an audit stopped it
```

The served file is only ever replaced whole: the release file is copied to a temporary name
in ``serving/``, fsynced, then ``os.replace``d onto ``marmot.duckdb`` (and the folder fsynced).
A reader holding the old file open keeps reading the old inode until it reconnects; a process
killed at any moment leaves either the old or the new release served, never a mix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from marmot_assets.landing.store import fsync_path  # also rel.fsync_path for the release builder

SERVING_FILE = "marmot.duckdb"
CURRENT_FILE = "current.json"
MANIFEST_FILE = "manifest.json"
STAGED_FILE = "staged.json"

Pause = Callable[[str], None] | None


def serving_dir(home: Path) -> Path:
    return home / "serving"


def serving_path(home: Path) -> Path:
    return serving_dir(home) / SERVING_FILE


def releases_dir(home: Path) -> Path:
    return serving_dir(home) / "releases"


def staging_dir(home: Path) -> Path:
    return serving_dir(home) / "staging"


def new_release_id(now: dt.datetime | None = None) -> str:
    """Sortable by time (to the microsecond): ``20261201T201500.123456Z-1a2b``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S.%f}Z-{uuid.uuid4().hex[:4]}"


@contextlib.contextmanager
def serving_lock(home: Path) -> Iterator[None]:
    """One stager or publisher at a time (released by the kernel if the process dies)."""
    folder = serving_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json_atomically(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def release_ids(home: Path) -> list[str]:
    """Published releases, oldest first (each folder holding a whole release file)."""
    folder = releases_dir(home)
    if not folder.is_dir():
        return []
    return sorted(
        p.name for p in folder.iterdir() if (p / SERVING_FILE).is_file() and not p.name[0] == "."
    )


def served_release_id(home: Path) -> str | None:
    """The release in the served file itself (its `release_manifest`), else current.json."""
    import duckdb

    path = serving_path(home)
    if path.is_file():
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute("select release_id from release_manifest").fetchone()[0]
        except duckdb.Error:
            pass
    current = read_json(serving_dir(home) / CURRENT_FILE)
    return current.get("release_id") if current else None


def swap_in(home: Path, release_id: str, how: str, pause: Pause = None) -> None:
    """Serve ``release_id``: copy its file beside the served one, fsync, rename over it."""
    source = releases_dir(home) / release_id / SERVING_FILE
    folder = serving_dir(home)
    tmp = folder / f".{SERVING_FILE}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            if pause:
                pause("copied")
            dst.flush()
            os.fsync(dst.fileno())
        if pause:
            pause("before_replace")
        os.replace(tmp, folder / SERVING_FILE)
        fsync_path(folder)
    finally:
        tmp.unlink(missing_ok=True)
    if pause:
        pause("replaced")
    write_json_atomically(
        folder / CURRENT_FILE,
        {
            "release_id": release_id,
            "served_since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "how": how,
            "file": str(folder / SERVING_FILE),
        },
    )


def clear_leftovers(home: Path) -> None:
    """Temporary files of a killed swap (never the served file)."""
    for tmp in serving_dir(home).glob(f".{SERVING_FILE}.*.tmp"):
        tmp.unlink(missing_ok=True)


def prune(home: Path, keep: int) -> list[str]:
    """Keep the newest ``keep`` releases and the served one; drop old staged releases."""
    served = served_release_id(home)
    ids = release_ids(home)
    dropped = [r for r in ids[: max(len(ids) - keep, 0)] if r != served]
    for release_id in dropped:
        shutil.rmtree(releases_dir(home) / release_id, ignore_errors=True)
    staged = read_json(serving_dir(home) / STAGED_FILE) or {}
    stage = staging_dir(home)
    if stage.is_dir():
        leftovers = sorted(p.name for p in stage.iterdir())
        for name in leftovers[: max(len(leftovers) - keep, 0)]:
            if name != staged.get("release_id"):
                shutil.rmtree(stage / name, ignore_errors=True)
    return dropped


def list_releases(home: Path) -> list[dict]:
    """Every kept release, oldest first, with its manifest and whether it is served."""
    served = served_release_id(home)
    out = []
    for release_id in release_ids(home):
        manifest = read_json(releases_dir(home) / release_id / MANIFEST_FILE) or {}
        out.append(
            {
                "release_id": release_id,
                "served": release_id == served,
                "released_at": manifest.get("released_at"),
                "git_commit": manifest.get("git_commit"),
                "row_counts": manifest.get("row_counts", {}),
            }
        )
    return out


def rollback(home: Path, release_id: str | None = None) -> str:
    """Serve ``release_id`` (default: the release published before the served one)."""
    with serving_lock(home):
        ids = release_ids(home)
        served = served_release_id(home)
        if release_id is None:
            earlier = [r for r in ids if served is None or r < served]
            if not earlier:
                raise LookupError(f"no release before the served one ({served}) to roll back to")
            release_id = earlier[-1]
        matches = [r for r in ids if r == release_id or r.startswith(release_id)]
        if len(matches) != 1:
            raise LookupError(f"no single kept release matches {release_id!r}; kept: {ids}")
        clear_leftovers(home)
        swap_in(home, matches[0], how=f"rollback from {served}")
        return matches[0]
