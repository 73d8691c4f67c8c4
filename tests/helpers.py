"""What the tests share besides their fixtures (those are in conftest.py): partner files read
and written as partners send them, the demo's deliveries and LSOAs, a dbt staging model's SQL
rendered for a plain DuckDB file, and the door in front of a real warehouse.

Import it as ``helpers`` (pyproject puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import csv
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from marmot_assets.config import DBT_PROJECT_DIR
from marmot_assets.demo.generator import DemoLsoa
from marmot_assets.partners.contract import Contract
from marmot_assets.partners.door import receive

# The population every demo LSOA is given when a test writes one partner's demo files itself.
DEMO_POPULATION = (1650, 330, 900, 420, 860)


# --- partner files ---------------------------------------------------------------------------
def inbox_files(root: Path, contract: Contract) -> list[Path]:
    """The demo deliveries of one dataset under ``root/inbox``, in name (and so time) order."""
    return sorted((root / "inbox" / contract.partner / contract.dataset).iterdir())


def inbox_bytes(root: Path, contract: Contract) -> list[bytes]:
    return [path.read_bytes() for path in inbox_files(root, contract)]


def csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    """Every row of a CSV file, the header first."""
    with path.open(newline="", encoding=encoding) as f:
        return list(csv.reader(f))


def write_csv(
    path: Path, rows: Sequence[Sequence], encoding: str = "utf-8", lineterminator: str = "\r\n"
) -> Path:
    """Rows (the header first) written as a CSV file; Excel's line ends unless told."""
    with path.open("w", newline="", encoding=encoding) as f:
        csv.writer(f, lineterminator=lineterminator).writerows(rows)
    return path


@contextlib.contextmanager
def edited_csv(path: Path, edit: Callable[[list[list[str]]], object]):
    """For the block, the CSV file ``path`` with its rows (the header first) changed in place
    by ``edit``, yielding what ``edit`` returned; afterwards its bytes as they were, whatever
    happened."""
    good = path.read_bytes()
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        edited = edit(rows)
        with path.open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        yield edited
    finally:
        path.write_bytes(good)


# --- the demo --------------------------------------------------------------------------------
def demo_lsoas(lookup: list[dict[str, str]], place) -> list[DemoLsoa]:
    """The place's LSOAs (rows of its demo lookup) as a partner's demo writer receives them,
    with the ward's demo deprivation and a fixed population."""
    g = place.geography
    deprivation = {w.code: w.deprivation for w in place.demo.wards}
    return [
        DemoLsoa(
            r[g.lsoa_field],
            r[g.lsoa_name_field],
            r[g.ward_field],
            r[g.ward_name_field],
            r[g.lad_field],
            r[g.lad_name_field],
            deprivation[r[g.ward_field]],
            DEMO_POPULATION,
        )
        for r in lookup
    ]


def assert_same_seed_same_bytes(
    write: Callable[..., list[Path]], folder: Path, place, lsoas: list[DemoLsoa], seed: int
) -> list[Path]:
    """A partner's demo writer, run three times: the same seed twice gives the same bytes,
    the next seed other bytes. Returns the files of the first run."""
    first = write(folder / "a", place, lsoas, np.random.default_rng(seed))
    second = write(folder / "b", place, lsoas, np.random.default_rng(seed))
    third = write(folder / "c", place, lsoas, np.random.default_rng(seed + 1))
    for a, b, c in zip(first, second, third, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert a.read_bytes() != c.read_bytes(), a.name
    return first


# --- NHS numbers ------------------------------------------------------------------------
def check_digit(first_nine: str) -> int | None:
    """The NHS number's modulus-11 check digit, worked out here independently of the door:
    weights 10 down to 2, check = 11 - (sum mod 11), 11 -> 0, 10 -> no valid number."""
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(first_nine)) % 11
    return None if check == 10 else check % 11


def valid_nhs_numbers(count: int, start: int = 401_023_213) -> list[str]:
    """``count`` valid NHS numbers (by ``check_digit``), from the first nine digits ``start``
    on in steps of 7."""
    numbers, prefix = [], start
    while len(numbers) < count:
        if (check := check_digit(str(prefix))) is not None:
            numbers.append(f"{prefix}{check}")
        prefix += 7
    return numbers


# --- dbt -------------------------------------------------------------------------------------
def render_model_sql(path: Path, relations: dict[str, str]) -> str:
    """A dbt staging model's SQL, rendered with the project's staging macros, its source() and
    ref() calls pointing at plain relations (keyed by table or model name), so a test can run
    it on a small DuckDB file without a dbt build."""
    import jinja2

    macros = (DBT_PROJECT_DIR / "macros" / "latest_delivery.sql").read_text()
    template = jinja2.Environment().from_string(macros + path.read_text())
    return template.render(
        source=lambda _source, table: relations[table], ref=lambda model: relations[model]
    )


# --- the door --------------------------------------------------------------------------------
def lookups_warehouse(path: Path, demo_root: Path, place, population: dict | None = None):
    """A DuckDB file holding the demo's ONS lookups of ``place`` as the sources load them
    (LSOA 2021 -> ward, LSOA 2011 -> LSOA 2021), with ``population`` ({LSOA 2021 code:
    people}) as ONS population estimates when given: what the door's LSOA conversion reads."""
    import duckdb

    from marmot_assets.demo.publishers.ons import CHANGES_FILE, LOOKUP_FILE
    from marmot_assets.sources.ons import parse_changes_csv, parse_lookup_csv

    con = duckdb.connect(str(path))
    con.execute("create schema if not exists raw")
    lookup = parse_lookup_csv(demo_root / "demo" / LOOKUP_FILE, place)  # noqa: F841
    lsoa_changes = parse_changes_csv(demo_root / "demo" / CHANGES_FILE, place)  # noqa: F841
    con.execute("create table raw.ons_lsoa_ward_lookup as select * from lookup")
    con.execute("create table raw.ons_lsoa11_lsoa21_lookup as select * from lsoa_changes")
    if population:
        con.execute(
            "create table raw.ons_population_estimates (mid_year integer, lsoa_code varchar, "
            "sex varchar, age integer, population integer)"
        )
        for code, people in population.items():  # two rows each: the table is by sex
            half = people // 2
            con.executemany(
                "insert into raw.ons_population_estimates values (2023, ?, ?, 30, ?)",
                [(code, "Male", half), (code, "Female", people - half)],
            )
    return con


class PartnerDoor:
    """The door in front of a real DuckDB warehouse. Deliver with ``receive(path)`` (to the
    door's contract, or the one given) or ``receive_inbox`` (the demo's files); read back with
    ``rows``, ``table`` and ``quarantine``; ``assert_refused`` delivers a file the door must
    reject. ``home`` is where landing and restricted storage are written."""

    def __init__(self, con, codes, home: Path, contract: Contract | None = None):
        self.con, self.codes, self.home, self.contract = con, codes, home, contract

    def receive(self, path: Path, contract: Contract | None = None):
        return receive(path, self._contract(contract), self.con, self.codes, self.home)

    def receive_inbox(self, root: Path, contract: Contract | None = None) -> list:
        """Every demo delivery of the dataset under ``root/inbox``, in order: their verdicts."""
        contract = self._contract(contract)
        return [self.receive(path, contract) for path in inbox_files(root, contract)]

    def rows(self, sql: str, *params) -> list[tuple]:
        """The query's rows; positional parameters, or one dict of named ones ($name)."""
        args = params[0] if params and isinstance(params[0], dict) else list(params)
        return self.con.execute(sql, args).fetchall()

    def quarantine(self, name: str) -> list[tuple]:
        """(row_number, column_name, reason, value) of the file's quarantined rows."""
        return self.rows(
            "select row_number, column_name, reason, value from raw.quarantine "
            "where original_name = ? order by row_number, column_name",
            name,
        )

    def table(self, contract: Contract | None = None) -> list[tuple]:
        """The dataset's raw rows (none when nothing was ever loaded)."""
        table = self._contract(contract).table
        exists = self.rows(
            "select count(*) from information_schema.tables where table_schema "
            "= 'raw' and table_name = ?",
            table,
        )[0][0]
        if not exists:
            return []
        return self.rows(
            f"select * exclude (_received_at) from raw.{table} order by _sha256, _row_number"
        )

    def assert_refused(self, path: Path, *words: str, contract: Contract | None = None):
        """Delivers a file the door must refuse whole: the verdict is "rejected", its error
        names the file and holds each of ``words``, and the dataset's rows stay as they were.
        Returns the verdict."""
        before = self.table(contract)
        verdict = self.receive(path, contract)
        assert verdict.status == "rejected", verdict.summary()
        for word in (path.name, *words):
            assert word in verdict.error, verdict.error
        assert self.table(contract) == before
        return verdict

    def assert_quarantined(
        self, path: Path, accepted: int, expected: list[tuple], contract: Contract | None = None
    ):
        """Delivers a file the door must load but for the rows in ``expected`` (row, column,
        reason, exactly), accepting ``accepted`` rows. Returns the verdict."""
        verdict = self.receive(path, contract)
        assert (verdict.status, verdict.rows_accepted, verdict.rows_quarantined) == (
            "loaded_with_quarantine",
            accepted,
            len(expected),
        ), verdict.summary()
        assert [q[:3] for q in self.quarantine(path.name)] == expected
        return verdict

    def _contract(self, contract: Contract | None) -> Contract:
        return self.contract if contract is None else contract


def assert_quarantine(found: list[tuple], expected: list[tuple]) -> None:
    """Quarantined (row, column, reason, value) against expected (row, column, words, value):
    rows, columns and values exactly (None where a record-level contract keeps no value), the
    reason by its telling words."""
    assert [(r, c, v) for r, c, _, v in found] == [(r, c, v) for r, c, _, v in expected]
    for (_, _, reason, _), (_, _, words, _) in zip(found, expected, strict=True):
        assert words in reason, reason


# --- a whole refresh -------------------------------------------------------------------------
# A late Job Shop delivery beside the demo's own: one pseudonymised client (64 hex digits, as
# the Job Shop sends) starting twice in 2024 in Foleshill. Valid data in the partner's format:
# the suite's shared refresh takes it, and test_periods checks the client is reached once.
RETURNER_KEY = "cd" * 32
RETURNERS = (
    "Client key,LSOA code,Ward code,Disability,Care leaver,Ex-offender,Refugee,Lone parent,"
    "Start date,Outcome,Outcome date\r\n"
    f"{RETURNER_KEY},,E05001222,No,No,No,No,No,03/06/2024,None,\r\n"
    f"{RETURNER_KEY},,E05001222,No,No,No,No,No,02/09/2024,None,\r\n"
)


def plant_returners(home: Path) -> None:
    folder = home / "inbox" / "council_job_shop" / "clients"
    (folder / "job_shop_clients_2024-25_returners.csv").write_text(RETURNERS, encoding="utf-8")


@contextlib.contextmanager
def demo_home(tmp_path_factory, name: str):
    """A fresh MARMOT_HOME with the demo written, in an environment of its own (no
    DAGSTER_HOME or source settings from outside). Yields (home, settings, the MonkeyPatch
    holding the environment)."""
    from marmot_assets.config import read_indicator_catalogue
    from marmot_assets.demo.generator import generate_demo_data

    home = tmp_path_factory.mktemp(name) / "marmot"
    with home_environment(home) as (settings, mp):
        generate_demo_data(
            settings.demo_dir, settings.place_config, read_indicator_catalogue(),
            inbox_dir=settings.home / "inbox",
        )  # fmt: skip
        yield home, settings, mp


@contextlib.contextmanager
def home_environment(home: Path):
    """MARMOT_HOME=home in an environment of its own (no DAGSTER_HOME or source settings from
    outside: the instance is home/dagster). Yields (settings, the MonkeyPatch holding it)."""
    import pytest

    from marmot_assets.config import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARMOT_HOME", str(home))
        for variable in ("DAGSTER_HOME", "MARMOT_SOURCE_MODE", "MARMOT_SOURCE_DIR"):
            mp.delenv(variable, raising=False)
        get_settings.cache_clear()
        yield get_settings(), mp
    get_settings.cache_clear()


@contextlib.contextmanager
def copied_home(tmp_path_factory, name: str, run: dict):
    """A copy of a refreshed home (``demo_refresh``): warehouse, landing store, Dagster
    instance and all, in an environment of its own, for a module that changes its home after
    a whole refresh of the demo without paying for one more (minutes of the suite).
    Yields the same dict as ``refreshed_home``."""
    import shutil

    home = tmp_path_factory.mktemp(name) / "marmot"
    shutil.copytree(run["home"], home, symlinks=True)
    with home_environment(home) as (settings, mp):
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))  # as the refresh left it exported
        yield {**run, "home": home, "settings": settings, "mp": mp}


@contextlib.contextmanager
def refreshed_home(tmp_path_factory, name: str, before_run: Callable[[Path], None] | None = None):
    """A ``demo_home`` (with ``before_run(home)`` applied, e.g. to plant files), after one
    whole refresh through Dagster. Yields a dict: home, success, run_id, checks, settings and
    the MonkeyPatch holding the environment."""
    from marmot_assets.cli import run_refresh

    with demo_home(tmp_path_factory, name) as (home, settings, mp):
        if before_run is not None:
            before_run(settings.home)
        success, run_id, checks = run_refresh()
        yield {"home": home, "success": success, "run_id": run_id, "checks": checks,
               "settings": settings, "mp": mp}  # fmt: skip


def warehouse_rows(home: Path, sql: str) -> list[tuple]:
    """The rows of a query on ``home``'s warehouse, opened read-only."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
