"""Where `marmot check-file` takes the place's codes from: the served release (a published file
readers may open), else the landed ONS lookup, else patterns only, said plainly. It never opens
the warehouse, so a refresh writing there is never disturbed and never makes it fall back.

Each release here is written by the real publication code (stage + publish) from a small
hand-made warehouse holding the demo's lookups: no dbt, no Dagster run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from publish_helpers import fact_rows

from marmot_assets.cli import main
from marmot_assets.config import get_settings
from marmot_assets.demo.publishers.ons import CHANGES_FILE, LOOKUP_FILE
from marmot_assets.landing.store import land
from marmot_assets.partners.commands import EXIT_PATTERNS_ONLY, reference_codes
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import place_codes
from marmot_assets.publish.build import publish_release, stage_release
from marmot_assets.publish.releases import serving_path
from marmot_assets.sources.ons import parse_changes_csv, parse_lookup_csv

HOUSING = get_contract("council_housing/temporary_accommodation")
HEADER = (
    "Ward code,Ward name,Quarter,Households in temporary accommodation,Households with children"
)
ROWS = [
    "E05001222,Foleshill,2024-25 Q1,40,25",
    "E05001231,Wainbody,2024-25 Q1,3,1",
    "E05009999,Nowhere,2024-25 Q1,1,1",  # a well-formed ward code that is not Coventry's
]


@pytest.fixture
def home(marmot_home):
    marmot_home.mkdir(parents=True, exist_ok=True)
    get_settings.cache_clear()
    return marmot_home


def build_warehouse(home: Path, demo_root: Path, place, drop_wards=(), place_code=None) -> Path:
    """A warehouse of the demo's ONS lookups, IoD populations and a `publish` schema whose
    dim_area holds the place (as ``place_code``), its wards and LSOAs (less ``drop_wards``)
    as dbt builds it."""
    place_code = place_code or place.code
    lookup = parse_lookup_csv(demo_root / "demo" / LOOKUP_FILE, place)
    changes = parse_changes_csv(demo_root / "demo" / CHANGES_FILE, place)  # noqa: F841
    lookup["population_total"] = [1000 + 37 * i for i in range(len(lookup))]
    lookup["release"] = place.deprivation.release
    lsoas = lookup[~lookup["ward_code"].isin(drop_wards)]  # noqa: F841 (read by DuckDB)
    fact = fact_rows()  # noqa: F841 (read by DuckDB below)
    path = home / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create schema publish")
        con.execute(
            "create table raw.ons_lsoa_ward_lookup as select lsoa_code, lsoa_name, ward_code, "
            "ward_name, lad_code, lad_name, geography_vintage from lookup"
        )
        con.execute("create table raw.ons_lsoa11_lsoa21_lookup as select * from changes")
        con.execute(
            "create table raw.mhclg_imd_lsoa as "
            "select lsoa_code, population_total, release from lookup"
        )
        con.execute("create table publish.fct_indicator_values as select * from fact")
        con.execute(
            "create table publish.dim_area as "
            "select ?::varchar as area_code, 'local_authority' as area_type, "
            "null::varchar as parent_area_code, true as is_place, null::bigint as population_total "
            "union all select distinct ward_code, 'ward', ?, false, null from lsoas "
            "union all select lsoa_code, 'lsoa', ward_code, false, population_total from lsoas",
            [place_code, place_code],
        )
    return path


def publish(home: Path, warehouse: Path) -> str:
    with duckdb.connect(str(warehouse)) as con:
        release_id = stage_release(con, home, manifest_path=home / "no-dbt-manifest.json")
    publish_release(home, release_id, [], keep=5)
    return release_id


def land_changes(home: Path, demo_root: Path) -> Path:
    """The 2011 -> 2021 lookup landed as the ONS asset lands it (the release lacks it)."""
    return land(demo_root / "demo" / CHANGES_FILE, home / "landing", "ons", "lsoa_changes").path


@pytest.fixture
def released(home, demo_root, coventry):
    """A served release of the demo place, the 2011 -> 2021 lookup landed, and no landed
    ward lookup: the release is the only list of wards there is."""
    warehouse = build_warehouse(home, demo_root, coventry)
    release_id = publish(home, warehouse)
    landed = land_changes(home, demo_root)
    return {"warehouse": warehouse, "release_id": release_id, "landed": landed}


def check(capsys, path: Path, contract=HOUSING) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["check-file", contract.name, str(path)])
    return code, capsys.readouterr().out


def delivery(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "q1.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_the_release_gives_the_doors_codes_and_conversion(released, coventry):
    with duckdb.connect(str(released["warehouse"]), read_only=True) as con:
        door = place_codes(con, coventry.name, coventry.code, coventry.lists)
    codes, source = reference_codes()
    assert (codes.lsoa, codes.ward, codes.local_authority) == (
        door.lsoa, door.ward, door.local_authority,
    )  # fmt: skip
    assert codes.lsoa_year == door.lsoa_year == 2021 and codes.lists == door.lists
    assert codes.conversion is not None and door.conversion is not None
    assert codes.conversion.lsoa21 == door.conversion.lsoa21
    assert codes.conversion.changes == door.conversion.changes
    shared = {c.weight_source for c in codes.conversion.changes.values()} - {None}
    assert shared == {f"IoD population denominators ({coventry.deprivation.release})"}
    assert source == (
        f"release {released['release_id']} ({serving_path(get_settings().home)}); LSOA 2011 "
        f"codes converted by the landed ONS lookup {released['landed'].name}"
    )


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists raw.refresh_writes (n integer)")
print("holding", flush=True)
for line in sys.stdin:  # each line: one more write, while check-file runs beside it
    con.execute("insert into raw.refresh_writes values (?)", [int(line)])
    print(con.execute("select count(*) from raw.refresh_writes").fetchone()[0], flush=True)
"""


def test_a_refresh_holding_the_warehouse_changes_nothing(released, tmp_path, capsys, monkeypatch):
    path = delivery(tmp_path, *ROWS)
    unlocked = check(capsys, path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(released["warehouse"])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "holding"
        opened, connect = [], duckdb.connect

        def spy(*args, **kwargs):
            opened.append(str(args[0]) if args else kwargs.get("database", ":memory:"))
            return connect(*args, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(duckdb, "connect", spy)
            locked = check(capsys, path)
        for n in (1, 2):  # the writer was never disturbed: it goes on writing
            holder.stdin.write(f"{n}\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == str(n)
    finally:
        holder.kill()
        holder.wait()
    assert str(released["warehouse"]) not in opened
    assert str(serving_path(get_settings().home)) in opened
    assert locked == unlocked
    code, out = locked
    assert code == 1
    assert "q1.csv: would load with quarantine" in out
    assert "rows read 3, accepted 2, quarantined 1, for other places 0" in out
    assert f"area codes checked against release {released['release_id']}" in out
    assert "row 4, column 'ward_code': is not a ward of Coventry (value 'E05009999')" in out


def test_a_ward_not_in_the_release_is_quarantined(home, demo_root, coventry, tmp_path, capsys):
    # The release leaves Wainbody out, and nothing else lists the wards: its row is
    # quarantined, so the codes can only have come from the release.
    warehouse = build_warehouse(home, demo_root, coventry, drop_wards={"E05001231"})
    release_id = publish(home, warehouse)
    code, out = check(capsys, delivery(tmp_path, *ROWS))
    assert code == 1
    assert "rows read 3, accepted 1, quarantined 2" in out
    assert f"area codes checked against release {release_id} (" in out
    assert "row 3, column 'ward_code': is not a ward of Coventry (value 'E05001231')" in out
    assert "row 4, column 'ward_code': is not a ward of Coventry (value 'E05009999')" in out


def test_a_release_of_another_place_is_not_the_places_list(
    home, demo_root, coventry, tmp_path, capsys
):
    publish(home, build_warehouse(home, demo_root, coventry, place_code="E08000025"))
    lookup = home / "landing" / "ons" / "geography"
    land(demo_root / "demo" / LOOKUP_FILE, home / "landing", "ons", "geography")
    [landed] = lookup.glob("*__*.csv")
    code, out = check(capsys, delivery(tmp_path, *ROWS))
    assert code == 1
    assert f"area codes checked against the landed ONS lookup {landed.name}" in out
    assert "rows read 3, accepted 2, quarantined 1" in out


def test_with_no_list_of_codes_it_says_pattern_only_and_exits_apart(home, tmp_path, capsys):
    assert not serving_path(home).exists() and not (home / "landing").exists()
    code, out = check(capsys, delivery(tmp_path, *ROWS))
    assert code == EXIT_PATTERNS_ONLY == 4
    assert out.startswith("q1.csv: would load\n")
    assert "rows read 3, accepted 3, quarantined 0" in out
    assert "area codes checked by pattern only, NOT against the codes of Coventry" in out
    assert "checked against" not in out
    # a file the patterns already reject is rejected whatever the codes
    code, out = check(capsys, delivery(tmp_path, "E0500999,Nowhere,2024-25 Q1,1,1"))
    assert code == 2 and "rejected" in out and "pattern only" in out
