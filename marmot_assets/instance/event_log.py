"""Dagster's SQLite event log, keeping one SQLAlchemy engine per database file in a process.

Dagster's ``SqliteEventLogStorage._connect`` builds a new engine for every connection, and an
event takes two to four (the run's file, then the index for an asset or check event). A new
engine starts with an empty statement cache, so every insert is compiled again: ~7 ms an event
for a log line and ~16-21 ms for a materialisation on these machines, most of it SQLAlchemy,
not SQLite. A refresh writes a few thousand events.

``keep_engines()`` replaces that one method, in the process that calls it (the code location
calls it when it builds its definitions: every run worker, and `marmot run`), with one that
keeps each file's engine, and with it one open connection to the file (an event's every
transaction opened the file again, ~1 ms each, some 7,700 times a refresh); a second user at
once gets a connection of its own, closed after it as Dagster's are. Each transaction still
commits as it ends, in Dagster's WAL mode, so other processes (the daemon, the webserver)
read and write the same files exactly as before (their connections sync the WAL at
checkpoints rather than every commit: see ``_wal_synchronous_normal``), at the same place,
found from the instance as Dagster finds them; a connection held open between transactions
holds no lock. No instance setting is involved, so a copied or moved ``DAGSTER_HOME`` is its
own (an earlier storage class in dagster.yaml needed its folder written as an absolute path,
and a copied instance then wrote into the original's log).

The method replaced is private: this is applied only on the Dagster version it was written
and tested for (``tests/test_event_log.py``); on any other, Dagster's own method stays.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

TESTED_ON = "1.13.27"
# A run writes to its own file and the index; the webserver reads many runs' files. Engines
# beyond this many are disposed, the least recently used first.
KEPT_ENGINES = 64

_engines: OrderedDict[str, Engine] = OrderedDict()
_lock = threading.Lock()
_dagster_connect = SqliteEventLogStorage._connect
_dagster_has_table = SqliteEventLogStorage.has_table


def _engine(conn_string: str) -> Engine:
    with _lock:
        engine = _engines.pop(conn_string, None)
        if engine is None:
            engine = create_engine(
                conn_string,
                # one connection kept open between uses, any more closed after theirs (as
                # Dagster's NullPool closes every one): opening the file again for each
                # transaction cost ~1 ms, and a refresh opens it some 7,700 times
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=-1,
                # a kept connection may serve another thread next (one at a time: the pool
                # hands each out to one user)
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _wal_synchronous_normal)
        _engines[conn_string] = engine  # the most recently used last
        while len(_engines) > KEPT_ENGINES:
            _engines.popitem(last=False)[1].dispose()
        return engine


def _wal_synchronous_normal(dbapi_connection, _record) -> None:
    # In WAL mode SQLite's default (FULL) syncs the log to disk at every commit: ~0.2 ms on
    # these machines, some 7,700 times a refresh, ~1.5 s of the run's own process (measured
    # with py-spy: 1.76 s in commit, 0.26 s with NORMAL). NORMAL syncs at checkpoints only.
    # A killed process loses nothing (the log is written to the OS at each commit); a power
    # cut may lose an event log's last commits but never corrupts it: the run is then found
    # lost and failed by run monitoring, and the warehouse, the landing and the release keep
    # their own durability (DuckDB's WAL, fsynced receipts), which this does not touch.
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def _connect(self: SqliteEventLogStorage, shard: str) -> Iterator[Connection]:
    # Dagster's method, but the engine is the file's kept one (keyed by the file's absolute
    # path, so each instance's files have their own)
    with self._db_lock:
        engine = _engine(self.conn_string_for_shard(shard))
        # Dagster clears this set when it wipes or upgrades, and a new storage starts with it
        # empty: the kept connection is let go (its file may have been deleted and made
        # again since) and the file is made again if it is not there
        if shard not in self._initialized_dbs:
            engine.dispose()
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn


def _has_table(self: SqliteEventLogStorage, table_name: str) -> bool:
    # Dagster asks before every asset check event (``supports_asset_checks``) and every
    # asset event with tags whether the index has the table, each time through a new engine
    # and connection: ~3 ms, some 700 times a refresh (~2 s of the run's process). A table
    # found is remembered by this storage until Dagster wipes or upgrades it (which gives
    # it a new ``_initialized_dbs``); a table not found is asked for again next time (a
    # migration may add it).
    found = self.__dict__.get("_marmot_tables")
    if found is None or found[0] is not self._initialized_dbs:
        found = (self._initialized_dbs, set())
        self.__dict__["_marmot_tables"] = found
    if table_name in found[1]:
        return True
    exists = _dagster_has_table(self, table_name)
    if exists:
        found[1].add(table_name)
    return exists


def keep_engines() -> bool:
    """Keep engines in this process (see above), and the tables the index is known to
    have (``_has_table``); True when applied."""
    if dg.__version__ != TESTED_ON:
        return False
    SqliteEventLogStorage._connect = _connect  # ty: ignore[invalid-assignment]
    SqliteEventLogStorage.has_table = _has_table  # ty: ignore[invalid-assignment]
    return True


def dispose_kept_engines() -> None:
    with _lock:
        while _engines:
            _engines.popitem()[1].dispose()
