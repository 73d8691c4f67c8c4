"""The place is configuration: defaults, environment overrides, another local authority."""

from __future__ import annotations

import pytest
import yaml

from marmot_assets.config import PLACES_DIR, get_settings, load_place
from marmot_assets.sources.mhclg import parse_imd
from marmot_assets.sources.place import place_areas_frame


def test_defaults_come_from_the_defaults_file(marmot_home, monkeypatch):
    monkeypatch.delenv("MARMOT_PLACE", raising=False)
    settings = get_settings()
    assert settings.place == "E08000026" and settings.source_mode == "demo"
    assert settings.warehouse_path == marmot_home / "warehouse.duckdb"
    assert settings.dagster_home == marmot_home / "dagster"
    assert settings.place_config.name == "Coventry"


@pytest.fixture
def birmingham_file(tmp_path):
    data = yaml.safe_load((PLACES_DIR / "E08000026.yaml").read_text())
    data.update(code="E08000025", name="Birmingham")
    data.pop("demo")
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
