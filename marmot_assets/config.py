"""Settings: where data lives, which place, which source mode.

Everything place-specific comes from a place file (``marmot_assets/places/<code>.yaml``);
nothing in code names a place. Settings are read from the environment when first asked for
(never at import time) and cached; tests call ``get_settings.cache_clear()`` after changing
the environment.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
PLACES_DIR = PACKAGE_DIR / "places"
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
INDICATOR_CATALOGUE = DBT_PROJECT_DIR / "seeds" / "indicator_catalogue.csv"

DEFAULTS_FILE = PACKAGE_DIR / "defaults.yaml"


class Area(BaseModel):
    code: str
    name: str
    area_type: Literal["country", "region", "local_authority"]


# LSOAs in England per census geography: the count of ranks in an IoD release on it.
ENGLAND_LSOA_COUNT = {2011: 32_844, 2021: 33_755}


class GeographyConfig(BaseModel):
    """The ONS best-fit lookup LSOA -> ward -> local authority, one vintage of it: its name
    (e.g. ``LSOA21_WD24_LAD24``) and field names change with every vintage."""

    vintage: str
    lsoa_field: str
    lsoa_name_field: str
    ward_field: str
    ward_name_field: str
    lad_field: str
    lad_name_field: str
    arcgis_query_url: str

    @model_validator(mode="after")
    def _one_census_year(self) -> GeographyConfig:
        years = {_census_year(self.vintage, "vintage"), _census_year(self.lsoa_field, "lsoa_field")}
        if len(years) > 1:
            raise ValueError(
                f"vintage {self.vintage} and lsoa_field {self.lsoa_field} name different "
                "LSOA census years"
            )
        return self

    @property
    def lsoa_year(self) -> int:
        """The census year of the place's LSOAs (2011 or 2021), from the lookup's vintage."""
        return _census_year(self.vintage, "vintage")


def _census_year(name: str, what: str) -> int:
    """The LSOA census year a name like LSOA21_WD24_LAD24 or LSOA11CD says: 2011 or 2021."""
    match = re.match(r"LSOA(\d\d)", name.upper())
    year = 2000 + int(match.group(1)) if match else None
    if year not in ENGLAND_LSOA_COUNT:
        raise ValueError(f"{what} {name!r} must start LSOA11 or LSOA21 (the LSOA census geography)")
    return year


class DeprivationRelease(BaseModel):
    """What one IoD release is: the LSOA geography it ranks and its files' default names."""

    lsoa_year: int
    imd_file: str
    domains_file: str
    population_file: str


# MHCLG's file names per release. IoD2025 publishes File_1, File_2 and File_6 as workbooks
# (File_7, all ranks, scores, deciles and denominators, also as CSV): the names here are their
# CSV exports, which the source folder holds.
DEPRIVATION_RELEASES = {
    "IoD2019": DeprivationRelease(
        lsoa_year=2011,
        imd_file="File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv",
        domains_file="File_2_-_IoD2019_Domains_of_Deprivation.csv",
        population_file="File_6_-_IoD2019_Population_Denominators.csv",
    ),
    "IoD2025": DeprivationRelease(
        lsoa_year=2021,
        imd_file="File_1_IoD2025_Index_of_Multiple_Deprivation.csv",
        domains_file="File_2_IoD2025_Domains_of_Deprivation.csv",
        population_file="File_6_IoD2025_Population_Denominators.csv",
    ),
}


class DeprivationConfig(BaseModel):
    """The IoD release and its files (under ``mhclg/deprivation`` of the source folder).

    A file name left out takes the release's default; one set to null is not read (its
    columns stay empty), e.g. an England file of IMD ranks only."""

    release: Literal["IoD2019", "IoD2025"] = "IoD2025"
    imd_file: str = ""
    domains_file: str | None = ""
    population_file: str | None = ""

    @model_validator(mode="after")
    def _release_defaults(self) -> DeprivationConfig:
        defaults = DEPRIVATION_RELEASES[self.release]
        for name in ("imd_file", "domains_file", "population_file"):
            if getattr(self, name) == "":
                setattr(self, name, getattr(defaults, name))
        return self

    @property
    def lsoa_year(self) -> int:
        """The census year of the LSOAs the release ranks."""
        return DEPRIVATION_RELEASES[self.release].lsoa_year

    @property
    def england_lsoa_count(self) -> int:
        """How many LSOAs the release ranks: ranks run 1 (most deprived) to this."""
        return ENGLAND_LSOA_COUNT[self.lsoa_year]


class FingertipsConfig(BaseModel):
    base_url: str = "https://fingertips.phe.org.uk/api/"
    place_area_type_id: int = 502
    place_parent_area_type_id: int = 6
    ward_area_type_id: int = 8


class DemoWard(BaseModel):
    code: str
    name: str
    deprivation: float = Field(ge=0, le=1, description="0 least deprived .. 1 most deprived")


class DemoConfig(BaseModel):
    seed: int = 2013
    lsoa_per_ward_min: int = 8
    lsoa_per_ward_max: int = 14
    wards: list[DemoWard] = []


class Partner(BaseModel):
    name: str
    owner: str = Field(pattern=r"^(team:[a-z0-9-]+|[^@\s]+@[^@\s]+)$")


class PlaceConfig(BaseModel):
    code: str = Field(pattern=r"^E0[6-9]\d{6}$")
    name: str
    area_type: Literal["local_authority"] = "local_authority"
    comparators: list[Area]
    geography: GeographyConfig
    deprivation: DeprivationConfig = DeprivationConfig()
    fingertips: FingertipsConfig = FingertipsConfig()
    demo: DemoConfig = DemoConfig()
    # The place's partner agencies (ids used by the dataset contracts) and named lists that
    # contracts check values against (e.g. the place's family hubs).
    partners: dict[str, Partner] = {}
    lists: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _release_on_the_lookups_geography(self) -> PlaceConfig:
        if self.deprivation.lsoa_year != self.geography.lsoa_year:
            raise ValueError(
                f"deprivation release {self.deprivation.release} ranks LSOAs "
                f"({self.deprivation.lsoa_year}) but the geography {self.geography.vintage} "
                f"is on LSOAs ({self.geography.lsoa_year}): their codes would not match"
            )
        return self

    @property
    def england(self) -> Area:
        return next(a for a in self.comparators if a.area_type == "country")

    @property
    def region(self) -> Area | None:
        return next((a for a in self.comparators if a.area_type == "region"), None)


def load_place(code_or_path: str) -> PlaceConfig:
    """Read a place file by local authority code (bundled) or by path."""
    path = Path(code_or_path)
    if not path.suffix:
        path = PLACES_DIR / f"{code_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PLACES_DIR.glob("*.yaml"))
        raise FileNotFoundError(
            f"No place file {path}. Set MARMOT_PLACE to one of {known} or to a YAML file path."
        )
    return PlaceConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


class MarmotSettings(BaseSettings):
    """Environment (MARMOT_HOME, MARMOT_PLACE, ...) over ``defaults.yaml``."""

    model_config = SettingsConfigDict(env_prefix="MARMOT_", extra="ignore", yaml_file=DEFAULTS_FILE)

    home: Path = PROJECT_DIR / "data"
    place: str
    # demo: read the bundled demo files under $MARMOT_HOME/demo (written by `marmot demo`).
    # live: fetch from the publishers' APIs / download locations.
    source_mode: Literal["demo", "live"]
    # Optional override of where source files are read from in demo mode (for example a folder
    # of real published files laid out like the demo folder).
    source_dir: Path | None = None
    # DuckDB's memory limit for the warehouse connection (beyond it, DuckDB spills to disk).
    duckdb_memory_limit: str = "1GB"
    # Backoff factor (seconds) between HTTP retries of publishers' APIs (urllib3 Retry).
    http_backoff: float = Field(default=1.0, ge=0)
    # A dropped file is taken once unchanged for this long (two looks), or at once with a
    # `<name>.done` marker; `.name` / `name.part` transfers untouched this long are reported.
    inbox_settle_seconds: float = Field(default=2.0, ge=0)
    inbox_stale_hours: float = Field(default=24.0, gt=0)
    # Processes drawing a report's charts (publish/report/charts.drawn_together); by default
    # one a core, at most 4 (a report has ~90 charts).
    report_workers: int | None = Field(default=None, ge=1)
    # Landing refuses a file that would leave less than this free on its disk, so the
    # warehouse and Dagster's own storage never run out: the file waits in the inbox.
    landing_reserve_mb: float = Field(default=64, ge=0)
    # The Nomis claimant-count endpoint (live mode): a mirror, or a test server.
    nomis_url: str = "https://www.nomisweb.co.uk/api/v01/dataset/NM_162_1.data.csv"
    # ONS small-area population estimates by single year of age (Nomis NM_2014_1), live mode;
    # its default is in defaults.yaml.
    population_url: str
    # How long `marmot run` waits for the warehouse while another live run holds its pool slot
    # or another process holds DuckDB's file lock, before giving up naming the holder.
    warehouse_wait_seconds: float = Field(default=120, ge=0)
    # Publication: how many published releases are kept under $MARMOT_HOME/serving/releases
    # (the served one always is), and how far (a fraction, 0.2 = ±20%) a table's row count may
    # move from the previous published release before the audit stops the release.
    releases_kept: int = Field(default=5, ge=1)
    publish_row_count_tolerance: float = Field(default=0.2, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Order is priority: arguments, then the environment, then defaults.yaml.
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls)

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def demo_dir(self) -> Path:
        return self.source_dir or (self.home / "demo")

    @functools.cached_property
    def place_config(self) -> PlaceConfig:
        return load_place(self.place)


@functools.cache
def get_settings() -> MarmotSettings:
    settings = MarmotSettings()
    settings.home = settings.home.resolve()
    return settings


def read_indicator_catalogue(path: Path = INDICATOR_CATALOGUE) -> list[dict[str, str]]:
    """The indicator catalogue (a dbt seed), as rows of strings."""
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
