"""IoD2025 on LSOA 2021, end to end through Dagster on the real England file: the ONS lookup
and MHCLG assets, then the dbt models int_lsoa_deprivation and dim_area (and what they are
built from), against a source folder (MARMOT_SOURCE_DIR) holding the real re-shaped England
IoD2025 file (no local authority column: rows are taken by the lookup's LSOAs) and a lookup of
Coventry's 203 LSOA (2021) codes."""

from __future__ import annotations

import csv
import shutil

import dagster as dg
import pytest
import yaml
from helpers import warehouse_rows

from marmot_assets.config import PLACES_DIR, get_settings
from marmot_assets.demo.publishers.mhclg import LAYOUTS

ENGLAND = "imd2025/IoD2025_IMD_LSOA21__England.csv"
COVENTRY = "imd2025/IoD2025_LSOA21__Coventry_E08000026.csv"
DBT_MODELS = [
    "stg_place__areas",
    "stg_ons__lsoa_ward_lookup",
    "stg_mhclg__imd_lsoa",
    "int_lsoa_deprivation",
    "int_ward_deprivation",
    "dim_area",
]


def _write_source_folder(source, reference, wards) -> list[dict[str, str]]:
    """The real England file under its own name, and a lookup of the real Coventry LSOAs."""
    imd_dir = source / "mhclg" / "deprivation"
    imd_dir.mkdir(parents=True)
    shutil.copyfile(reference / ENGLAND, imd_dir / "IoD2025_IMD_LSOA21__England.csv")
    with (reference / COVENTRY).open(newline="", encoding="utf-8-sig") as f:
        coventry = list(csv.DictReader(f))
    lookup = source / "ons" / "geography" / "lsoa_ward_lad_lookup.csv"
    lookup.parent.mkdir(parents=True)
    header = ["FID", "LSOA21CD", "LSOA21NM", "WD24CD", "WD24NM", "LAD24CD", "LAD24NM"]
    with lookup.open("w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        for fid, row in enumerate(coventry, start=1):
            # SYNTHETIC wards: each LSOA is given a ward of the demo list in turn, not its real
            # ward. Only the LSOA codes and their deciles are facts asserted here.
            ward = wards[fid % len(wards)]
            out.writerow(
                [fid, row["lsoa21_code"], row["lsoa21_name"], ward.code, ward.name,
                 "E08000026", "Coventry"]
            )  # fmt: skip
    # SYNTHETIC population denominators in the IoD2025 File_6 layout (mid-2022 headers): the
    # ward models weight by population; no population fact is asserted.
    with (imd_dir / "File_6_IoD2025_Population_Denominators.csv").open(
        "w", newline="", encoding="utf-8-sig"
    ) as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(LAYOUTS["IoD2025"].file_6_header)
        for row in coventry:
            key = [row["lsoa21_code"], row["lsoa21_name"], "E08000026", "Coventry"]
            out.writerow(key + [1600, 320, 900, 380, 1000])
    return coventry


@pytest.fixture(scope="module")
def built(tmp_path_factory, reference):
    from marmot_assets.definitions import build_definitions
    from marmot_assets.transform.project import dbt_environment

    root = tmp_path_factory.mktemp("iod2025")
    place = yaml.safe_load((PLACES_DIR / "E08000026.yaml").read_text())
    # The re-shaped England file holds IMD ranks and deciles only (no domains); File_6 keeps
    # its default name.
    place["deprivation"] = {
        "release": "IoD2025",
        "imd_file": "IoD2025_IMD_LSOA21__England.csv",
        "domains_file": None,
    }
    place_file = root / "coventry.yaml"
    place_file.write_text(yaml.safe_dump(place))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARMOT_HOME", str(root / "home"))
        mp.setenv("MARMOT_PLACE", str(place_file))
        mp.setenv("MARMOT_SOURCE_MODE", "demo")
        mp.setenv("MARMOT_SOURCE_DIR", str(root / "source"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster"))
        # Only the selected models' own tests: not those shared with models left unbuilt.
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        get_settings.cache_clear()
        settings = get_settings()
        coventry = _write_source_folder(
            root / "source", reference, settings.place_config.demo.wards
        )
        dbt_environment()
        defs = build_definitions()
        graph = defs.resolve_asset_graph()
        wanted = [
            dg.AssetKey(["raw", name])
            for name in ("place_areas", "ons_lsoa_ward_lookup", "mhclg_imd_lsoa")
        ]
        wanted += [key for key in graph.get_all_asset_keys() if key.path[-1] in DBT_MODELS]
        assert len(wanted) == 3 + len(DBT_MODELS), wanted
        result = dg.materialize(
            defs.assets,
            selection=dg.AssetSelection.assets(*wanted),
            resources=defs.resources,
            raise_on_error=False,
        )
        yield {"result": result, "home": settings.home, "coventry": coventry}
    get_settings.cache_clear()


def test_run_succeeded(built):
    result = built["result"]
    failed = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failed
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]


def test_raw_table_has_the_places_203_lsoas_36_in_decile_1(built):
    rows = warehouse_rows(built["home"], "select lsoa_code, imd_decile from raw.mhclg_imd_lsoa")
    expected = {r["lsoa21_code"]: int(r["IMD_decile"]) for r in built["coventry"]}
    assert dict(rows) == expected
    assert len(rows) == 203 and sum(d == 1 for _, d in rows) == 36


def test_int_lsoa_deprivation_and_dim_area(built):
    home = built["home"]
    [[int_table]] = warehouse_rows(
        home,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_name = 'int_lsoa_deprivation'",
    )
    rows = warehouse_rows(home, f"select lsoa_code, imd_decile, release from {int_table}")
    assert len(rows) == 203 and sum(d == 1 for _, d, _ in rows) == 36
    assert {r for _, _, r in rows} == {"IoD2025"}
    [[dim_table]] = warehouse_rows(
        home,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_name = 'dim_area'",
    )
    areas = warehouse_rows(
        home, f"select area_code, imd_decile from {dim_table} where area_type = 'lsoa'"
    )
    expected = {r["lsoa21_code"]: int(r["IMD_decile"]) for r in built["coventry"]}
    assert dict(areas) == expected
    assert sum(d == 1 for _, d in areas) == 36
