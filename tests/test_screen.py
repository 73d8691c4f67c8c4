"""The identifier screen: no NHS number, postcode, date of birth, name, address, e-mail or
phone number passes it, in any form, file format, sheet, column or story; pseudonymised keys,
area codes, dates of events, money and the demo's own files do; unreadable input is refused
with words; a file's name is screened too."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers import valid_nhs_numbers, write_csv

from marmot_assets.demo.partners.council_job_shop import DEMO_ONLY_HMAC_KEY
from marmot_assets.partners.contract import CONTRACTS_DIR, get_contract
from marmot_assets.partners.identifier_columns import header_kind
from marmot_assets.partners.pseudonymise import pseudonymise_value
from marmot_assets.partners.screen import (
    Finding,
    find_identifiers,
    identifier_in_name,
    identifier_in_text,
    nhs_number_valid,
)
from marmot_assets.reading.errors import SourceFileError

NHS = "9434765919"  # a valid NHS number (modulus 11)
CONTRACTS = sorted(CONTRACTS_DIR.glob("*/*.yaml"))


def invalid(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


# --- free text ---------------------------------------------------------------------------------
IN_TEXT = [
    (NHS, "an NHS number"),
    ("943 476 5919", "an NHS number"),
    ("943-476-5919", "an NHS number"),
    ("9434-765-919", "an NHS number"),
    ("94 34 76 59 19", "an NHS number"),
    ("NHS9434765919", "an NHS number"),
    ("9434765919x", "an NHS number"),
    ("nhs:943 476 5919", "an NHS number"),
    ("9434765919.0", "an NHS number"),
    ("9.434765919E+09", "an NHS number"),
    ("ref 12 943 476 5919", "an NHS number"),
    ("943.476.5919", "an NHS number"),
    ("\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19", "an NHS number"),
    ("943\u200b476\u200b5919", "an NHS number"),
    ("CV1 2AB", "a full postcode"),
    ("cv1 2ab", "a full postcode"),
    ("CV12AB", "a full postcode"),
    ("B1  1AA", "a full postcode"),  # ONS pcd7: outward padded to four characters
    ("CV123AB", "a full postcode"),  # pcd7 with a four-character outward code
    ("B1   1AA", "a full postcode"),  # ONS pcd8
    ("EC1A 1BB", "a full postcode"),
    ("she moved to CV6 5HQ last year", "a full postcode"),
    ("born 3 March 1990", "a date of birth"),
    ("DOB 03/03/1990", "a date of birth"),
    ("date of birth: 1990-03-03", "a date of birth"),
    ("D.O.B. 3/3/90", "a date of birth"),
    ("she was born in Coventry on the 3rd of March 1990", "a date of birth"),
    ("birthday March 3, 1990", "a date of birth"),
    ("dob 03-Mar-90", "a date of birth"),
    ("12 Acacia Road", "a street address"),
    ("Flat 3, 45 High Street", "a street address"),
    ("lives at 7a St Mary's Road now", "a street address"),
    ("12 ACACIA AVENUE", "a street address"),
    ("write to jo.bloggs+work@example.co.uk", "an e-mail address"),
    ("07700 900123", "a phone number"),
    ("07700900123", "a phone number"),
    ("+44 7700 900123", "a phone number"),
    ("+447700900123", "a phone number"),
    ("024 7612 3456", "a phone number"),
    ("(024) 7612 3456", "a phone number"),
    ("+44 (0)24 7612 3456", "a phone number"),
]
NOT_IN_TEXT = [
    "Foleshill",
    "a mum of two",
    "in 2024",
    "£1,200",
    "1,234,567.00",
    "£1234567.89",
    "2024.03.31",
    "Family Hub on Park Road",
    "CV1",  # an outward code alone is an area
    "E01000001",
    "E05001222",
    "20240331",
    "1" + NHS,  # eleven digits: not an NHS number, nor the ten inside it
    NHS + "123",
    invalid(NHS),
    "943 476 5918",
    pseudonymise_value("JS0000050", DEMO_ONLY_HMAC_KEY),  # holds 4436307964, modulus-11 valid
    "in 2024 Foleshill Road was closed",
    "we fed 20 Tile Hill families",
    "the b2 3rd floor",
    "born in 1990",
    "born in March 1990",
    "03/03/1990",
    "0800 123 4567",
    "2022-23 Q1",
    "Coventry DEMO 001A",
    "Volunteering days with VCSE groups in St Michael's",
    "1 jobs ringfenced for Job Shop clients",
    "Year 6, 2023/24",
]


@pytest.mark.parametrize(("text", "kind"), IN_TEXT)
def test_identifiers_in_free_text_are_found_in_every_form(text, kind):
    assert identifier_in_text(text) == kind
    assert identifier_in_text(f"Notes. {text}. Thanks") == kind


@pytest.mark.parametrize("text", NOT_IN_TEXT)
def test_what_is_not_personal_passes(text):
    assert identifier_in_text(text) is None


def test_the_first_identifier_is_the_one_named():
    assert identifier_in_text("call 024 7612 3456 or write to a@b.com") == "a phone number"
    assert identifier_in_text("write to a@b.com or call 024 7612 3456") == "an e-mail address"


def test_nhs_numbers_in_any_grouping_pass_modulus_11_and_others_do_not():
    for number in valid_nhs_numbers(40):
        assert nhs_number_valid(number)
        assert identifier_in_text(f"{number[:3]} {number[3:6]} {number[6:]}") == "an NHS number"
        assert identifier_in_text(f"{number[:2]}-{number[2:]}") == "an NHS number"
        assert identifier_in_text(invalid(number)) is None


# --- file names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("943_476_5919.csv", "an NHS number"),
        ("extract_NHS9434765919.xlsx", "an NHS number"),
        ("referral-9434765919.csv", "an NHS number"),
        ("report_CV1_2AB.csv", "a full postcode"),
        ("clients cv12ab.csv", "a full postcode"),
        ("dob_1990_03_03.csv", "a date of birth"),
        ("born19900303.xlsx", "a date of birth"),
        ("DOB-03-03-1990.csv", "a date of birth"),
        ("jo.bloggs@example.com.csv", "an e-mail address"),
        ("jo.bloggs%40example.com.csv", "an e-mail address"),
    ],
)
def test_file_names_holding_an_identifier_are_found(name, kind):
    assert identifier_in_name(name) == kind


@pytest.mark.parametrize(
    "name",
    [
        "job_shop_clients_2023-24_Q1.csv",
        "NM_162_1_E08000026_2024-01.csv",
        "2024-01-29-money-matters-advice-hub.md",
        "ncmp_child_measurements_2021-22.csv",
        "contracts_register_20240331.csv",
        "adobe_export_2024-03-03.csv",
    ],
)
def test_ordinary_file_names_pass(name):
    assert identifier_in_name(name) is None


# --- record-level files: values ----------------------------------------------------------------
def record_file(tmp_path: Path, column: str, values: list[str], name="clients.csv") -> Path:
    rows = [["Client key", "LSOA code", column, "Outcome", "Start date"]]
    for i, value in enumerate(values):
        key = pseudonymise_value(f"JS{i:07d}", DEMO_ONLY_HMAC_KEY)
        rows.append([key, f"E0100{i % 90 + 10:04d}", value, "job", f"{1 + i % 28:02d}/04/2024"])
    return write_csv(tmp_path / name, rows)


@pytest.mark.parametrize(("text", "kind"), IN_TEXT)
def test_an_identifier_in_any_column_of_a_record_level_csv_is_found_with_its_row(
    tmp_path, text, kind
):
    values = ["", "Referred by the family hub", "", text, "n/a"]
    path = record_file(tmp_path, "Ref", values)
    found = find_identifiers(path, record_level=True)
    assert found == Finding("Ref", 5, kind)  # the header is row 1
    assert text not in found.describe()


def test_a_finding_is_described_without_its_value(tmp_path):
    assert Finding("Notes", 14, "an NHS number").describe() == (
        "column 'Notes', row 14, holds what looks like an NHS number"
    )
    assert Finding("NHS", 3, "an NHS number", sheet="Clients").describe() == (
        "sheet 'Clients', column 'NHS', row 3, holds what looks like an NHS number"
    )
    column, kind = Finding("Notes", 14, "an NHS number")  # as the door unpacks it
    assert (column, kind) == ("Notes", "an NHS number")


def test_rows_are_numbered_as_the_sender_sees_them_across_chunks(tmp_path):
    values = [f"note {i}" for i in range(40)]
    values[29] = f"nhs {NHS}"
    path = record_file(tmp_path, "Notes", values)
    # Quoted line breaks and a blank line keep the numbering of the CSV reader.
    text = path.read_bytes().replace(b"note 3,", b'"note\n3",', 1)
    path.write_bytes(text.replace(b"\r\n", b"\r\n\r\n", 1))
    for chunk_rows in (3, 7, 50_000):
        assert find_identifiers(path, record_level=True, chunk_rows=chunk_rows) == Finding(
            "Notes", 32, "an NHS number"
        )


def test_pseudonymised_keys_codes_dates_and_counts_pass(tmp_path):
    keys = [pseudonymise_value(f"JS{i:07d}", DEMO_ONLY_HMAC_KEY) for i in range(300)]
    assert any(k for k in keys if any(c.isdigit() for c in k[:10]))
    rows = [["Client key", "LSOA", "Ward", "Date", "Amount", "Count", "Big number"]]
    rows += [
        [k.upper() if i % 2 else k, "E01000001", "E05001222", "20240331", "£1,200", "14", NHS + "1"]
        for i, k in enumerate(keys)
    ]
    assert find_identifiers(write_csv(tmp_path / "ok.csv", rows), record_level=True) is None


# --- record-level files: headers by meaning ----------------------------------------------------
NAME_HEADERS = ["Forename", "First name", "Given names", "Surname", "Family name", "Last_Name",
                "Full name", "Client Name", "Name", "Mother's maiden name", "firstName",
                "patientSurname", "Name of client", "Initials", "FName",
                "School contact name"]  # fmt: skip
DOB_HEADERS = ["DOB", "D.O.B.", "Date of Birth", "BirthDate", "birth_dt", "Born", "bday",
               "DateOfBirth", "patientDOB", "Year of birth"]  # fmt: skip
LEGIT_HEADERS = ["ward name", "lsoa name", "LSOA name", "hub name", "school name",
                 "service name", "supplier name", "organisation name", "partner name",
                 "indicator name", "area name", "local authority name", "Crime type",
                 "Last outcome category", "date of death", "referral date", "month",
                 "academic year", "Country of birth", "Birth weight",
                 "Family hub name", "Client school name", "Patient practice name"]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "kind"),
    [(h, "a name") for h in NAME_HEADERS] + [(h, "a date of birth") for h in DOB_HEADERS],
)
def test_name_and_birth_columns_are_known_by_their_header(tmp_path, header, kind):
    # The values alone would pass: the header says what the column holds.
    path = record_file(tmp_path, header, ["", "Q", "Q", "R"])
    assert find_identifiers(path, record_level=True) == Finding(header, 3, kind)
    assert find_identifiers(path, record_level=False) is None  # aggregate data: headers free


@pytest.mark.parametrize("header", LEGIT_HEADERS)
def test_legitimate_headers_pass(tmp_path, header):
    path = record_file(tmp_path, header, ["Bablake", "Earlsdon", "2024-01"])
    assert find_identifiers(path, record_level=True) is None


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_header_of_any_contract_means_a_name_or_a_birth(contract):
    columns = get_contract(f"{contract.parent.name}/{contract.stem}").columns
    headers = [h for c in columns for h in c.header_names()]
    assert [h for h in headers if header_kind(h, headers)] == []


@pytest.mark.parametrize("blank", ["", "REDACTED", "n/a", "digest"])
def test_a_name_column_emptied_or_pseudonymised_at_source_passes(tmp_path, blank):
    values = [
        pseudonymise_value(f"P{i}", b"k" * 32) if blank == "digest" else blank for i in range(9)
    ]
    assert find_identifiers(record_file(tmp_path, "Forename", values), record_level=True) is None
    values[4] = "Amara"
    found = find_identifiers(record_file(tmp_path, "Forename", values), record_level=True)
    assert found == Finding("Forename", 6, "a name")


# --- record-level files: values shaped like names and dates of birth --------------------------
PEOPLE = ["Oliver James Smith", "Amara Okafor", "Zainab Hussain", "Harry Jones", "SMITH, John",
          "Mrs Eileen Walsh", "Jakub Nowak", "Priya Patel", "Chloe", "Daniel O'Brien",
          "amara okafor"]  # fmt: skip
NOT_PEOPLE = ["Tile Hill Recruitment", "Canalside Care Services Ltd", "Harmony", "Park Edge",
              "Bablake", "Binley and Willenhall", "St Michael's", "Coventry DEMO 001A", "Yes",
              "Job", "Healthy weight", "Reception", "Female", "Spring 2024"]  # fmt: skip


def test_a_column_of_personal_names_is_found_whatever_its_header(tmp_path):
    values = ["", "Unknown"] + PEOPLE * 3
    path = record_file(tmp_path, "Wer", values)
    assert find_identifiers(path, record_level=True) == Finding("Wer", 4, "a name")
    assert find_identifiers(path, record_level=True, chunk_rows=2) == Finding("Wer", 4, "a name")


def test_a_column_of_organisations_and_places_is_not_a_name_column(tmp_path):
    path = record_file(tmp_path, "Where", NOT_PEOPLE * 3)
    assert find_identifiers(path, record_level=True) is None


def births(count: int, first: int = 1940, last: int = 2010) -> list[str]:
    days = (dt.date(last, 12, 31) - dt.date(first, 1, 1)).days
    return [
        (dt.date(first, 1, 1) + dt.timedelta(days=i * days // count)).strftime("%d/%m/%Y")
        for i in range(count)
    ]


@pytest.mark.parametrize(
    "style", ["%d/%m/%Y", "%Y-%m-%d", "%d %B %Y", "%Y%m%d", "%d-%b-%y", "%m/%d/%Y %H:%M"]
)
def test_a_column_of_dates_spread_over_decades_is_a_date_of_birth(tmp_path, style):
    values = [dt.datetime.strptime(d, "%d/%m/%Y").strftime(style) for d in births(40)]
    path = record_file(tmp_path, "Geburtsdatum", ["", *values])
    assert find_identifiers(path, record_level=True) == Finding(
        "Geburtsdatum", 3, "a date of birth"
    )
    assert find_identifiers(path, record_level=True, chunk_rows=4) == Finding(
        "Geburtsdatum", 3, "a date of birth"
    )
    assert find_identifiers(path, record_level=False) is None


@pytest.mark.parametrize(
    "values",
    [
        births(60, 2023, 2024),  # the dates of events in one delivery
        births(4),  # too few to tell
        births(40)[:20] + ["not known", "tbc", "soon", "later", "?", "-"] * 2,  # mostly not dates
    ],
    ids=["events", "few", "unparseable"],
)
def test_dates_of_events_are_not_dates_of_birth(tmp_path, values):
    assert find_identifiers(record_file(tmp_path, "When", values), record_level=True) is None


def test_dates_of_death_spread_over_years_are_not_dates_of_birth(tmp_path):
    path = record_file(tmp_path, "Date of death", births(40))
    assert find_identifiers(path, record_level=True) is None


# --- workbooks -------------------------------------------------------------------------------
def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


ABOUT = [["About this data"], ["Source: the Job Shop's case system."]]
KEYED = [["Client key", "Ward code", "Outcome"]] + [
    [pseudonymise_value(f"JS{i}", DEMO_ONLY_HMAC_KEY), "E05001222", "job"] for i in range(5)
]


@pytest.mark.parametrize("number", [int(NHS), float(NHS), "943 476 5919", "NHS9434765919"])
def test_an_nhs_number_in_the_second_sheet_of_a_workbook_is_found(tmp_path, number):
    data = [["Notes row above the header", None, None], *KEYED]
    data[4][0] = number  # sheet row 5
    path = workbook(tmp_path / "clients.xlsx", {"About": ABOUT, "Clients": data})
    found = find_identifiers(path, record_level=True)
    assert found == Finding("Client key", 5, "an NHS number", sheet="Clients")
    assert found.describe() == (
        "sheet 'Clients', column 'Client key', row 5, holds what looks like an NHS number"
    )


@pytest.mark.parametrize(
    ("column", "values", "kind"),
    [
        ("Postcode", ["CV1 2AB"] * 5, "a full postcode"),
        ("Forename", ["Amara", "Oliver", "Zainab", "Harry", "Grace"], "a name"),
        ("Geboren", [dt.datetime(1950 + 13 * i, 3, 3) for i in range(5)], "a date of birth"),
        ("Who", PEOPLE[:5], "a name"),
    ],
)
def test_identifiers_in_a_workbook_below_its_notes_rows_are_found(tmp_path, column, values, kind):
    data = [["Clients of the Job Shop"], ["Counts are not rounded."], KEYED[0] + [column]]
    data += [row + [value] for row, value in zip(KEYED[1:], values, strict=True)]
    path = workbook(tmp_path / "clients.xlsx", {"About": ABOUT, "Data": data})
    assert find_identifiers(path, record_level=True) == Finding(column, 4, kind, sheet="Data")


@pytest.mark.parametrize("header_at", [1, 2], ids=["above-a-decoy", "below-a-decoy"])
def test_a_birth_header_hidden_near_a_decoy_header_still_condemns_its_column(tmp_path, header_at):
    decoy = ["Client key", "Ward code", "Outcome", "Date"]
    real = ["Client key", "Ward code", "Outcome", "DOB"]
    data = [row + ["03/03/2013"] for row in KEYED[1:]]  # one year's births: no spread
    rows = [decoy, real] if header_at == 2 else [real, decoy]
    path = workbook(tmp_path / "clients.xlsx", {"Data": rows + data})
    # The first value below the header that holds something: the decoy, or the first date.
    expected = Finding("DOB", 2, "a date of birth", "Data")
    if header_at == 2:
        expected = Finding("Date", 3, "a date of birth", "Data")
    assert find_identifiers(path, record_level=True) == expected


# --- aggregate files: free-text columns only -------------------------------------------------
def test_in_aggregate_data_only_free_text_columns_are_screened(tmp_path):
    rows = [["Ward code", "Count", "Social value", "Comments"]]
    rows += [["E05001222", "12", "Apprenticeships in Foleshill", "Hub on Park Road"] for _ in "abc"]
    rows += [[NHS, "CV1 2AB", "Two apprentices", "fine"]]  # not free text: aggregate codes
    path = write_csv(tmp_path / "register.csv", rows)
    assert find_identifiers(path, record_level=False, free_text=["social_value"]) is None
    rows[2][2] = "Contact 07700 900123"
    rows[3][3] = "see jo@example.com"
    path = write_csv(tmp_path / "register.csv", rows)
    # A column the contract calls text, and one whose header says comments, without being told.
    assert find_identifiers(path, record_level=False, free_text=["social_value"]) == Finding(
        "Social value", 3, "a phone number"
    )
    assert find_identifiers(path, record_level=False) == Finding("Comments", 4, "an e-mail address")


def test_an_identifier_written_in_a_header_is_found_and_not_repeated(tmp_path):
    path = write_csv(tmp_path / "odd.csv", [["Ward", f"Notes on {NHS}"], ["E05001222", "ok"]])
    found = find_identifiers(path, record_level=False)
    assert found == Finding("B", 1, "an NHS number") and NHS not in found.describe()


# --- stories -----------------------------------------------------------------------------------
def story(path: Path, body: str, **front) -> Path:
    fields = {"title": "Saturday breakfast club", "partner": "Hillfields Community Pantry",
              "ward": "Foleshill", "date": "2024-03-12", **front}  # fmt: skip
    path.write_text(
        "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n\n" + body + "\n"
    )
    return path


@pytest.mark.parametrize(("text", "kind"), IN_TEXT)
@pytest.mark.parametrize("record_level", [False, True])
def test_an_identifier_in_a_story_body_is_found(tmp_path, text, kind, record_level):
    path = story(tmp_path / "s.md", f"A mum of two from Foleshill told us.\n\n{text} was given.")
    assert find_identifiers(path, record_level=record_level) == Finding("body", 1, kind)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("contact", "07700 900123", "a phone number"),
        ("dob", "1990-03-03", "a date of birth"),
        ("teller", "'Amara, 12 Acacia Road'", "a street address"),
        ("teller_name", "Amara Okafor", "a name"),
    ],
)
def test_an_identifier_in_a_story_front_matter_is_found(tmp_path, field, value, kind):
    path = story(tmp_path / "s.md", "We served breakfast three mornings a week.", **{field: value})
    assert find_identifiers(path, record_level=False) == Finding(field, 1, kind)


def test_a_story_without_identifiers_passes(tmp_path):
    body = "In 2024 a mum of two from Foleshill came to the Family Hub on Park Road; £1,200."
    assert find_identifiers(story(tmp_path / "s.md", body), record_level=False) is None


# --- the demo ----------------------------------------------------------------------------------
def test_no_demo_file_or_file_name_is_flagged(demo_root):
    files = sorted(p for p in (demo_root / "inbox").rglob("*") if p.is_file())
    assert len(files) > 50
    for path in files:
        contract = get_contract(f"{path.parent.parent.name}/{path.parent.name}")
        text = [h for c in contract.columns if c.type == "text" for h in c.header_names()]
        assert find_identifiers(path, record_level=contract.record_level, free_text=text) is None
        assert find_identifiers(path, record_level=True, free_text=text) is None, path.name
        assert identifier_in_name(path.name) is None
    for path in (p for p in (demo_root / "demo").rglob("*") if p.is_file()):
        assert find_identifiers(path, record_level=True) is None, path.name


# --- unreadable input --------------------------------------------------------------------------
def damaged_workbook(tmp_path: Path) -> Path:
    good = workbook(tmp_path / "good.xlsx", {"Data": KEYED})
    damaged = io.BytesIO()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(
                item, data[: len(data) // 2] if "worksheets/" in item.filename else data
            )
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(damaged.getvalue())
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d / "missing.csv",
        lambda d: (d / "nul.csv").write_bytes(b"a,b\n\x00\x01\x02,3\n") and d / "nul.csv",
        lambda d: (d / "cut.xlsx").write_bytes(b"PK\x03\x04 cut short") and d / "cut.xlsx",
        damaged_workbook,
        lambda d: (d / "enc.csv").write_bytes(b"a,b\n\x81\x8d\xff,1\n") and d / "enc.csv",
        lambda d: (d / "q.csv").write_text('a,b\n"' + "x" * 1_100_000 + "\n") and d / "q.csv",
        lambda d: (d / "bad.json").write_text('{"x": 1}') and d / "bad.json",
        lambda d: (d / "s.md").write_text("---\ndob: 1990-03-03: [x\n---\nbody\n") and d / "s.md",
    ],
    ids=["missing", "nul", "cut-zip", "damaged-sheet", "encoding", "quote", "json", "yaml"],
)
def test_unreadable_input_is_a_source_file_error_without_values(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(SourceFileError) as caught:
        find_identifiers(path, record_level=True)
    assert "1990" not in str(caught.value) and "\n" not in caught.value.problem
