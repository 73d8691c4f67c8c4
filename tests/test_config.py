"""The place is configuration: defaults, environment overrides, another local authority."""

from __future__ import annotations

import pytest
import yaml

from marmot_assets.config import PLACES_DIR, PlaceConfig, get_settings, load_place
from marmot_assets.sources.mhclg import parse_imd
from marmot_assets.sources.place import place_areas_frame


def test_defaults_come_from_the_defaults_file(marmot_home, monkeypatch):
    monkeypatch.delenv("MARMOT_PLACE", raising=False)
    settings = get_settings()
    assert settings.place == "E08000026" and settings.source_mode == "demo"
    assert settings.warehouse_path == marmot_home / "warehouse.duckdb"
    assert settings.dagster_home == marmot_home / "dagster"
    assert settings.place_config.name == "Coventry"


LSOA11_GEOGRAPHY = {
    "vintage": "LSOA11_WD19_LAD19",
    "lsoa_field": "LSOA11CD",
    "lsoa_name_field": "LSOA11NM",
    "ward_field": "WD19CD",
    "ward_name_field": "WD19NM",
    "lad_field": "LAD19CD",
    "lad_name_field": "LAD19NM",
    "arcgis_query_url": "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
    "LSOA11_WD19_LAD19_EW_LU/FeatureServer/0/query",
}


@pytest.fixture
def birmingham_file(tmp_path):
    data = yaml.safe_load((PLACES_DIR / "E08000026.yaml").read_text())
    data.update(code="E08000025", name="Birmingham")
    data.pop("demo")
    # On LSOA 2011 with IoD2019: the real England File_1 of 2019 names every LSOA's authority.
    data["geography"].update(LSOA11_GEOGRAPHY)
    data["deprivation"] = {"release": "IoD2019"}
    path = tmp_path / "birmingham.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_another_place_is_a_config_change(marmot_home, monkeypatch, birmingham_file, reference):
    monkeypatch.setenv("MARMOT_PLACE", str(birmingham_file))
    get_settings.cache_clear()
    place = get_settings().place_config
    assert (place.code, place.name) == ("E08000025", "Birmingham")
    areas = place_areas_frame()
    assert areas.loc[areas["is_place"], "area_code"].tolist() == ["E08000025"]
    england = "imd2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation__England.csv"
    frame = parse_imd(reference / england, place)
    assert set(frame["lad_code"]) == {"E08000025"}
    assert len(frame) == 639  # Birmingham's LSOAs (2011)


def test_bad_place_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="E08000026"):
        load_place("E09999999")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"code": "X1", "name": "Nowhere", "comparators": []}))
    with pytest.raises(ValueError, match="code"):
        load_place(str(bad))


def _coventry(**changes) -> dict:
    data = yaml.safe_load((PLACES_DIR / "E08000026.yaml").read_text())
    for section, values in changes.items():
        data[section] = values
    return data


def test_coventry_defaults_to_lsoa21_wards_2024_and_iod2025():
    place = load_place("E08000026")
    g = place.geography
    assert (g.vintage, g.lsoa_field, g.ward_field, g.lad_field) == (
        "LSOA21_WD24_LAD24", "LSOA21CD", "WD24CD", "LAD24CD",
    )  # fmt: skip
    assert g.arcgis_query_url.endswith("/LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query")
    assert g.lsoa_year == 2021
    d = place.deprivation
    assert (d.release, d.lsoa_year, d.england_lsoa_count) == ("IoD2025", 2021, 33_755)
    assert d.imd_file == "File_1_IoD2025_Index_of_Multiple_Deprivation.csv"
    assert d.population_file == "File_6_IoD2025_Population_Denominators.csv"


def test_iod2019_on_lsoa11_keeps_its_file_names():
    place = PlaceConfig.model_validate(
        _coventry(geography=LSOA11_GEOGRAPHY, deprivation={"release": "IoD2019"})
    )
    assert place.geography.lsoa_year == 2011
    d = place.deprivation
    assert (d.lsoa_year, d.england_lsoa_count) == (2011, 32_844)
    assert (d.imd_file, d.domains_file, d.population_file) == (
        "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv",
        "File_2_-_IoD2019_Domains_of_Deprivation.csv",
        "File_6_-_IoD2019_Population_Denominators.csv",
    )


def test_file_names_are_overridable_or_left_out():
    deprivation = {"release": "IoD2025", "imd_file": "england.csv", "domains_file": None}
    d = PlaceConfig.model_validate(_coventry(deprivation=deprivation)).deprivation
    assert (d.imd_file, d.domains_file) == ("england.csv", None)
    assert d.population_file == "File_6_IoD2025_Population_Denominators.csv"


def test_release_and_lookup_on_different_lsoa_years_are_refused():
    with pytest.raises(ValueError, match=r"IoD2019 ranks LSOAs \(2011\).*LSOA21_WD24_LAD24"):
        PlaceConfig.model_validate(_coventry(deprivation={"release": "IoD2019"}))
    with pytest.raises(ValueError, match="release"):
        PlaceConfig.model_validate(_coventry(deprivation={"release": "IoD2015"}))
    geography = {**LSOA11_GEOGRAPHY, "lsoa_field": "LSOA21CD"}
    with pytest.raises(ValueError, match="different LSOA census years"):
        PlaceConfig.model_validate(_coventry(geography=geography))
    with pytest.raises(ValueError, match="must start LSOA11 or LSOA21"):
        PlaceConfig.model_validate(_coventry(geography={**LSOA11_GEOGRAPHY, "vintage": "WD19"}))
