"""Reading partner deliveries ahead, in a process of its own, while the door loads others.

The door's own work on a delivery is mostly screening, reading and checking it (the screen
and ``door.inspect``: ~50 ms of a ~70 ms demo file), which needs only the file, its contract
and the place's codes; the rest (the digest, landing, the transaction) needs the warehouse,
which only the run's process may write. Once a run's first partner asset knows the place's
codes it hands every waiting delivery of the run's partner assets to this process, which
reads each from a private copy of its bytes and sends back what the screen and ``inspect``
found and the accepted rows.

The door takes that in place of reading the file itself only when it is certainly the same
reading: the same bytes (the copy's SHA-256 is the landed file's), the same contract and the
same codes. Otherwise, or when the process has not yet started on that file (the door then
reads it itself), failed on it, or was lost, the door reads the file as it always does: the
verdicts, rows and messages are the same either way (``tests/test_read_ahead.py``).

Memory stays bounded: only files up to ``max_file_mb`` are read ahead, and no more than
``budget_mb`` of them in a run; larger deliveries stream into the warehouse as before.
Nothing is logged here: a file that fails is read again by the door, which says why.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import threading
import uuid
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from marmot_assets.instance.processes import helper_pool, stop_pool
from marmot_assets.landing.manifest import Verdict
from marmot_assets.landing.store import FILE_MODE, copy_hashed, private_folder, safe_name
from marmot_assets.partners.contract import Contract
from marmot_assets.partners.validate import PlaceCodes

FOLDER = "read_ahead"  # under MARMOT_HOME: the private copies being read, none kept
# What the door's own reading of the file sets on its verdict is taken from the reading
# ahead; these, the verdict's identity and what the door set before reading, are its own.
OWN_FIELDS = {"partner", "dataset", "original_name", "sha256", "bytes", "landing_path",
              "actor", "received_at"}  # fmt: skip


@dataclasses.dataclass
class Reading:
    """What the door's screen and ``door.inspect`` made of one delivery: its verdict, whether
    the screen refused it (then it was not read further) and the accepted chunks."""

    sha256: str
    verdict: Verdict
    refused: bool
    chunks: list


def read_one(source: str, contract: Contract, codes: PlaceCodes, folder: str):
    """In the reading process: the door's screen and ``door.inspect`` on a private copy of
    ``source``'s bytes, as the door screens the file and reads its landed copy; None if
    anything went wrong (the door reads it again)."""
    from marmot_assets.partners.door import inspect, screen_verdict
    from marmot_assets.partners.inbox import display_name

    # named as the door names it (screened: no identifier in a file name, here neither)
    copy = Path(folder) / f"{uuid.uuid4().hex}__{safe_name(display_name(Path(source)))}"
    try:
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE | 0o200)
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            sha, size = copy_hashed(src, out)
        name = display_name(Path(source), sha)
        verdict = Verdict(contract.partner, contract.dataset, name, sha, size)
        chunks: list = []
        refused = screen_verdict(copy, contract, verdict)
        if not refused:
            inspect(copy, contract, codes, verdict, on_chunk=chunks.append)
        return Reading(sha, verdict, refused, chunks)
    except Exception:  # the door reads it itself, and says what went wrong
        return None
    finally:
        copy.unlink(missing_ok=True)


def take_reading(verdict: Verdict, reading: Reading, on_chunk) -> None:
    """Put a reading's findings on the door's verdict and its chunks through ``on_chunk``,
    as the door's screen and ``door.inspect`` would have done reading the file itself."""
    for field in dataclasses.fields(Verdict):
        if field.name not in OWN_FIELDS:
            setattr(verdict, field.name, getattr(reading.verdict, field.name))
    for chunk in reading.chunks:
        on_chunk(chunk)


def _import_door() -> None:
    import marmot_assets.partners.door  # noqa: F401  (its readers, pandas, the contracts)


class ReadAheadResource(dg.ConfigurableResource):
    """The process that reads partner deliveries ahead of the door (see the module's doc)."""

    in_own_process: bool = True
    max_file_mb: float = 4.0
    budget_mb: float = 32.0
    _pool: concurrent.futures.ProcessPoolExecutor | None = PrivateAttr(default=None)
    _warm: concurrent.futures.Future | None = PrivateAttr(default=None)
    _folder: Path | None = PrivateAttr(default=None)
    _codes: PlaceCodes | None = PrivateAttr(default=None)
    # (contract name, path) -> (contract, path, codes) still to hand over, or the future
    _waiting: dict = PrivateAttr(default_factory=dict)
    _readings: dict = PrivateAttr(default_factory=dict)
    _spent: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if not self.in_own_process:
            return
        from marmot_assets.config import get_settings

        home = get_settings().home
        folder = home / FOLDER
        shutil.rmtree(folder, ignore_errors=True)  # copies a lost process left behind
        try:
            private_folder(folder, root=home)
        except OSError:  # no room here: the door reads every file itself
            return
        helper = helper_pool(_import_door)
        if helper is not None:  # else the door reads every file itself
            (self._pool, self._warm), self._folder = helper, folder

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._waiting.clear()
            self._readings.clear()
        if pool is not None:
            stop_pool(pool)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def start(self, codes: PlaceCodes, deliveries) -> None:
        """Read ``deliveries()`` ((contract, path), in the order the door will take them;
        asked for only when the codes are new) ahead with ``codes``, once the process has
        imported the door (until then the door reads what it needs itself: a run of one file
        never waits for the process). Called again with other codes, the readings not yet
        taken are void and are made again."""
        if self._pool is None or codes == self._codes:
            return
        with self._lock:
            for future, _ in self._readings.values():  # made with other codes: void
                future.cancel()
            self._readings.clear()
            self._waiting.clear()
            self._codes = codes
            for contract, path in deliveries():
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                if size > self.max_file_mb * 2**20 or self._spent + size > self.budget_mb * 2**20:
                    continue  # streamed into the warehouse by the door, as ever
                self._waiting[(contract.name, str(path))] = (contract, path, codes)
                self._spent += size
        self._warm.add_done_callback(self._hand_over)

    def _hand_over(self, warm: concurrent.futures.Future) -> None:
        """Once the process is warm (on the pool's thread, or here if it already is)."""
        if warm.cancelled() or warm.exception() is not None:
            return
        with self._lock:
            while self._waiting and self._pool is not None:
                key, (contract, path, codes) = next(iter(self._waiting.items()))
                try:
                    future = self._pool.submit(
                        read_one, str(path), contract, codes, str(self._folder)
                    )
                except RuntimeError:  # the pool is broken or shut down: the door reads
                    self._pool = None
                    break
                del self._waiting[key]
                self._readings[key] = (future, codes)

    def discard(self, contract: Contract, path: Path) -> None:
        """The door does not need this delivery read (a duplicate): let its reading go."""
        key = (contract.name, str(path))
        with self._lock:
            self._waiting.pop(key, None)
            future, _ = self._readings.pop(key, (None, None))
        if future is not None:
            future.cancel()

    def take(self, contract: Contract, path: Path, sha256: str, codes: PlaceCodes):
        """The reading of this delivery, if it is certainly the door's own (same bytes,
        contract and codes); None and the door reads the file itself. A reading the process
        has not started is withdrawn: the door is free now and reads it at once."""
        key = (contract.name, str(path))
        with self._lock:
            self._waiting.pop(key, None)
            future, made_with = self._readings.pop(key, (None, None))
        if future is None or future.cancel() or codes != made_with:
            return None
        try:
            reading = future.result()
        except Exception:  # the process was lost: the door reads this file and the rest
            self._pool = None
            return None
        if reading is None or reading.sha256 != sha256:
            return None
        return reading
