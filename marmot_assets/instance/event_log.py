"""Dagster's SQLite event log, keeping one SQLAlchemy engine per database file.

Dagster's ``SqliteEventLogStorage`` builds a new engine for every connection it opens, and
opens two to four for each event (the run's file, then the index for an asset or check
event). A new engine starts with an empty statement cache, so every insert is compiled again:
~7 ms an event for a log line and ~21 ms for a materialisation on these machines, most of it
SQLAlchemy, not SQLite (a commit is ~1.2 ms). A refresh writes a few thousand events.

This storage keeps each file's engine (and so its compiled statements). Connections are still
opened per use and closed after it (``NullPool``, as Dagster's): nothing stays open between
events, so other processes (the daemon, the webserver, a run worker) see and write the same
files exactly as with Dagster's own class, and the files stay the same format at the same place
(``$DAGSTER_HOME/history/runs``). Set in the instance's dagster.yaml (marmot_assets/dagster.yaml).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS, create_db_conn_string
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# A run writes to its own file and the index; the webserver reads many runs' files. Engines of
# runs no longer in use are disposed beyond this many.
KEPT_ENGINES = 64


class KeptEngineSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        if base_dir is None:  # as Dagster's own default (marmot writes the folder in)
            base_dir = os.path.join(os.environ["DAGSTER_HOME"], "history", "runs")
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls):
        # base_dir is optional: by default the folder Dagster's own storage uses
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # ty: ignore[invalid-method-override]
        return cls(inst_data=inst_data, **(config_value or {}))

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                create_db_conn_string(self._base_dir, shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
        self._engines[shard] = engine  # the most recently used last
        while len(self._engines) > KEPT_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            # Dagster clears this set when it wipes or upgrades: the file is made again then
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()
