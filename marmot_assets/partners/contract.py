"""Dataset contracts: what a partner promises to send, written down as YAML.

One file per dataset, ``marmot_assets/partners/contracts/<partner>/<dataset>.yaml``. A
contract names the columns (with the header spellings partners use), their types, required
fields, code patterns, value ranges, allowed categories and row rules, plus the key that
makes a row unique. The door (``marmot_assets.partners.door``) enforces it; ``marmot check-
file`` lets a partner run the same check before sending.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator

from marmot_assets.reading.headers import Wanted

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

ColumnType = Literal["string", "integer", "number", "date", "month", "boolean", "text"]

# Code patterns partners' files must follow; "area" checks also need the place's own codes.
PATTERNS = {
    "lsoa": r"E01\d{6}",
    "msoa": r"E02\d{6}",
    "ward": r"E05\d{6}",
    "local_authority": r"E0[6-9]\d{6}",
}


class CountWhen(BaseModel):
    """The rows on which a number column holds a count: where ``column`` is ``value``."""

    column: str
    value: str


class Column(BaseModel):
    name: str
    type: ColumnType = "string"
    description: str = ""
    aliases: list[str] = []
    required: bool = True
    pattern: str | None = None
    # An area code of this kind that must belong to the place (from raw.ons_lsoa_ward_lookup).
    area: Literal["lsoa", "ward", "local_authority"] | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: list[str] | None = None
    # Allowed values listed in the place file under this key (e.g. family_hubs).
    allowed_from_place: str | None = None
    # Text columns that may hold free text: never written to a log or a quarantine value.
    sensitive: bool = False
    # A number column that is a count only on some rows (others hold a rate): where an LSOA
    # 2011 row is shared out among the parts 2021 split it into, counts are apportioned and
    # rates carried unchanged. Integer columns are always counts.
    count_when: CountWhen | None = None

    def header_names(self) -> list[str]:
        return [self.name, *self.aliases]


class RowRule(BaseModel):
    """``left`` <= ``right`` on every row where both are present (numerator <= denominator)."""

    rule: Literal["not_greater_than"] = "not_greater_than"
    left: str
    right: str


class Redaction(BaseModel):
    """Blank ``column`` on rows where the boolean column ``when`` is true, before anything is
    written: free text a partner flags as holding personal data never reaches the warehouse."""

    column: str
    when: str


class Contract(BaseModel):
    partner: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    dataset: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    format: Literal["csv", "xlsx", "json", "markdown"] = "csv"
    # Also accepted: a partner may send CSV or XLSX for a tabular dataset.
    accepted_formats: list[Literal["csv", "xlsx", "json", "markdown"]] | None = None
    record_level: bool = False
    columns: list[Column]
    key: list[str] = []
    # Columns whose non-empty values identify one thing across every delivery (a crime's
    # ID): a later delivery repeating one outside the periods it replaces is quarantined.
    unique: list[str] = []
    # The column saying which period a row belongs to (a month, a quarter, a school year).
    period: str | None = None
    # How a delivery relates to earlier ones. replace_periods: it replaces, as a whole, the
    # earlier rows of every period it covers (rows it drops are withdrawn); additive: rows
    # only add, and a later row with the same key wins in staging. Default: replace_periods
    # when the contract names a period, else additive.
    revisions: Literal["replace_periods", "additive"] | None = None
    # A delivery must come with a control file ``<name>.control`` (rows and SHA-256, as
    # data-sharing agreements often require) and is judged against it.
    control_file: bool = False
    row_rules: list[RowRule] = []
    # API sources: fetched by their asset on this cron; drop-folder sources: None.
    api_schedule: str | None = None
    publication_cadence: str = "monthly"
    extra_columns: Literal["ignore", "reject"] = "ignore"
    # Files that cover a wider area than the place (a police force's whole area): rows whose
    # code in this area column belongs to another place are skipped, not quarantined.
    keep_only_place: str | None = None
    redact: list[Redaction] = []
    # API sources: "module:function" returning [(file name, bytes)] for live mode; each
    # payload goes through the door exactly as a dropped file would.
    fetcher: str | None = None
    # Sources whose data comes by period are partitioned by it (marmot_assets/partners/
    # partitions.py): keys are the YYYY-MM each period starts, from `partitions_start`. An
    # API source's backfill of a range fetches the range in one run; a drop-folder source's
    # replays those periods from the deliveries already received.
    partitions: Literal["monthly", "financial_quarter", "academic_year"] | None = None
    partitions_start: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")
    # The partner publishes this dataset itself, in full (a register the law makes public:
    # the Local Government Transparency Code's contracts register). Only then may a release
    # name the organisations in it, row by row (mart_contracts); otherwise it is published
    # only in aggregate. People are never named, whatever this says.
    public_register: bool = False

    @model_validator(mode="after")
    def _names_exist(self) -> Contract:
        if self.partitions and not (self.partitions_start and self.period):
            raise ValueError(
                f"{self.partner}/{self.dataset}: partitions need a period and partitions_start"
            )
        first_months = {"financial_quarter": (1, 4, 7, 10), "academic_year": (9,)}
        if self.partitions in first_months:
            if int(self.partitions_start[5:]) not in first_months[self.partitions]:
                raise ValueError(
                    f"{self.partner}/{self.dataset}: partitions_start {self.partitions_start} "
                    f"is not the first month of a {self.partitions.replace('_', ' ')}"
                )
        names = {c.name for c in self.columns}
        named = [*self.key, *self.unique, *(r.left for r in self.row_rules)]
        named += [r.right for r in self.row_rules]
        if self.period:
            named.append(self.period)
        if self.revisions is None:
            self.revisions = "replace_periods" if self.period else "additive"
        if self.revisions == "replace_periods" and not self.period:
            raise ValueError(f"{self.partner}/{self.dataset}: replace_periods needs a period")
        if self.keep_only_place:
            named.append(self.keep_only_place)
        named += [name for r in self.redact for name in (r.column, r.when)]
        for name in named:
            if name not in names:
                raise ValueError(f"{self.partner}/{self.dataset}: unknown column {name!r}")
        return self

    @property
    def name(self) -> str:
        return f"{self.partner}/{self.dataset}"

    @property
    def table(self) -> str:
        return f"{self.partner}__{self.dataset}"

    @property
    def formats(self) -> list[str]:
        return self.accepted_formats or [self.format]

    def wanted(self) -> list[Wanted]:
        return [Wanted(c.name, tuple(c.header_names()), c.required) for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@functools.cache
def load_contracts(folder: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    contracts = {}
    for path in sorted(folder.glob("*/*.yaml")):
        contract = Contract.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        expected = f"{path.parent.name}/{path.stem}"
        if contract.name != expected:
            raise ValueError(f"{path}: contract says {contract.name}, file is {expected}")
        contracts[contract.name] = contract
    return contracts


def get_contract(name: str) -> Contract:
    contracts = load_contracts()
    if name not in contracts:
        raise KeyError(f"no contract {name!r}; known: {sorted(contracts)}")
    return contracts[name]
