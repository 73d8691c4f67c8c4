"""Council procurement: the Transparency Code contracts register (CSV, one snapshot a quarter)
and the Businesses Committed to a Fairer Coventry pledge list (JSON, one snapshot a quarter).

The register is exported from Excel in Windows-1252 with UK dates and values written
"1,234,567.00" (no "£": the door's number parser would refuse it, see the contract). Social
value commitments name the wards they target, most often the most deprived ones. Pledging
businesses follow population, and fewer in deprived wards pay the Real Living Wage.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.partners import drop_folder, ward_table

SNAPSHOTS = [
    dt.date(2024, 6, 30),
    dt.date(2024, 9, 30),
    dt.date(2024, 12, 31),
    dt.date(2025, 3, 31),
]

# --- contracts register ------------------------------------------------------------------------
# Department -> the contracts it lets.
TITLES = {
    "Adult Social Care": [
        "Home care framework",
        "Supported living services",
        "Carers support service",
        "Reablement service",
    ],
    "Children's Services": [
        "Family support services",
        "Residential placements framework",
        "Short breaks for disabled children",
        "Youth offer",
    ],
    "Public Health": [
        "Family Health and Lifestyle Service",
        "Drug and alcohol recovery service",
        "Sexual health service",
        "Stop smoking service",
    ],
    "Housing": [
        "Temporary accommodation - self-contained units",
        "Housing related support",
        "Homelessness prevention service",
    ],
    "Streetpride and Greenspace": ["Grounds maintenance", "Tree works", "Play area refurbishment"],
    "Property Services": ["Building cleaning", "Energy efficiency retrofit", "Fire safety works"],
    "Transport and Highways": [
        "Highway resurfacing",
        "Cycle route construction",
        "Street lighting LED upgrade",
    ],
    "Digital Services": [
        "Telephony platform",
        "Device recycling and digital inclusion",
        "Case management system",
    ],
}
# Department -> the word suppliers of its work tend to have in their name.
TRADES = {
    "Adult Social Care": "Care",
    "Children's Services": "Community",
    "Public Health": "Health",
    "Housing": "Housing",
    "Streetpride and Greenspace": "Landscapes",
    "Property Services": "Facilities",
    "Transport and Highways": "Civils",
    "Digital Services": "Digital",
}
CARE = ("Adult Social Care", "Children's Services", "Public Health")
SUPPLIER_PLACES = [
    "Midlands",
    "Arden",
    "Phoenix",
    "Godiva",
    "Canalside",
    "Spire",
    "Sowe",
    "Sherbourne",
    "Mercia",
    "Three Spires",
    "Warwickshire",
    "Central",
]
# Sole traders (no company number, not VCSE): their trading name is a person's name, so a
# release must not name them even though the register is public. Chosen by contract number,
# not by the random stream, so adding them changed no other demo value.
SOLE_TRADER_EVERY = 7
SOLE_TRADER_DEPARTMENTS = ("Property Services", "Streetpride and Greenspace", "Housing")
SOLE_TRADERS = ["R. Kaur", "D. Walsh", "M. Okafor", "S. Nowak", "T. Hughes", "A. Begum"]
SOCIAL_VALUE = [
    "{n} apprenticeships for residents of {ward}",
    "{n} jobs ringfenced for Job Shop clients",
    "£{money:,} to community food projects in {ward}",
    "Real Living Wage for all staff on the contract",
    "{n} work placements for care leavers",
    "Volunteering days with VCSE groups in {ward}",
    "Local supply chain spend of £{money:,}",
]
REGISTER_HEADER = [
    "Reference Number",
    "Title of Agreement",
    "Department",
    "Description of Goods and Services",
    "Supplier Name",
    "Supplier Company Registration Number",
    "SME",
    "VCSE",
    "Contract Value (£)",
    "Start Date",
    "End Date",
    "Review Date",
    "Health Inequalities Lens Review",
    "Social Value Commitments",
]


# The health inequalities lens: from April 2022, applied to a growing share of the contracts
# let each financial year (a fraction of its eventual reach), so the reviewed share rises.
LENS_FROM = dt.date(2022, 4, 1)
LENS_RAMP = {2022: 0.4, 2023: 0.6, 2024: 0.8, 2025: 1.0}


def lens_ramp(start: dt.date) -> float:
    """The share of its eventual reach the lens had in the financial year of ``start``."""
    fy = start.year if start.month >= 4 else start.year - 1
    return LENS_RAMP.get(fy, 0.0)


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _weighted(rng, items, weights):
    total = sum(weights)
    return items[int(rng.choice(len(items), p=[w / total for w in weights]))]


def _contracts(wards, rng) -> list[dict]:
    # Suppliers' social value is steered to the most deprived wards.
    targets = [0.02 + w["deprivation"] ** 2 for w in wards]
    contracts = []
    for number in range(1, 401):
        department = _pick(rng, sorted(TITLES))
        title, trade = _pick(rng, TITLES[department]), TRADES[department]
        start = dt.date(2019, 4, 1) + dt.timedelta(days=int(rng.integers(0, 6 * 365)))
        years = int(rng.choice([1, 2, 3, 4, 5], p=[0.2, 0.25, 0.3, 0.15, 0.1]))
        vcse = department in CARE and rng.random() < 0.35
        forms = ["CIC", "Trust"] if vcse else ["Ltd", "Limited", "Group Ltd", "Services Ltd"]
        # Companies House numbers have 8 digits; Excel has stripped the leading zero of some.
        company = f"{int(rng.integers(1_000_000, 15_000_000)):08d}"
        if company.startswith("0") and rng.random() < 0.5:
            company = company.lstrip("0")
        if vcse and rng.random() < 0.4:
            company = ""  # a charity that is not a company
        value = round(float(rng.lognormal(11.5, 1.4)), -2) + 5_000
        # The lens came in from 2022-23 and spreads a little more every year (LENS_RAMP);
        # health and care commissioning uses it most.
        lens_share = (0.85 if department in CARE else 0.45) * lens_ramp(start)
        lens = start >= LENS_FROM and rng.random() < lens_share
        commitments = []
        if value > 100_000 or rng.random() < 0.3:
            for _ in range(int(rng.integers(1, 4))):
                commitments.append(
                    _pick(rng, SOCIAL_VALUE).format(
                        n=int(rng.integers(1, 12)),
                        ward=_weighted(rng, wards, targets)["name"],
                        money=int(rng.integers(1, 40)) * 1_000,
                    )
                )
        end = start + dt.timedelta(days=365 * years - 1)
        supplier = f"{_pick(rng, SUPPLIER_PLACES)} {trade} {_pick(rng, forms)}"
        if number % SOLE_TRADER_EVERY == 0 and department in SOLE_TRADER_DEPARTMENTS and not vcse:
            trader = SOLE_TRADERS[number // SOLE_TRADER_EVERY % len(SOLE_TRADERS)]
            supplier, company = f"{trader} {trade}", ""
        contracts.append(
            {
                "reference": f"CCC-{start.year}-{number:04d}",
                "title": title,
                "department": department,
                "description": f"{title} for {department.lower()}",
                "supplier": supplier,
                "company": company,
                "sme": vcse or value < 2_000_000 and rng.random() < 0.7,
                "vcse": vcse,
                "value": value,
                "start": start,
                "end": end,
                "review": end - dt.timedelta(days=180),
                "lens": lens,
                "social_value": "; ".join(dict.fromkeys(commitments)),
            }
        )
    return contracts


def _write_register(folder: Path, contracts, snapshot: dt.date) -> Path:
    fy = snapshot.year if snapshot.month >= 4 else snapshot.year - 1
    quarter = {6: 1, 9: 2, 12: 3, 3: 4}[snapshot.month]
    path = folder / f"contracts_register_{fy}-{(fy + 1) % 100:02d}_Q{quarter}.csv"
    yes_no, day = ("No", "Yes"), "%d/%m/%Y"
    # The register lists the contracts live at the snapshot date.
    rows = [
        [
            c["reference"],
            c["title"],
            c["department"],
            c["description"],
            c["supplier"],
            c["company"],
            yes_no[c["sme"]],
            yes_no[c["vcse"]],
            f"{c['value']:,.2f}",
            c["start"].strftime(day),
            c["end"].strftime(day),
            c["review"].strftime(day),
            yes_no[c["lens"]],
            c["social_value"],
        ]
        for c in sorted(contracts, key=lambda c: c["reference"])
        if c["start"] <= snapshot <= c["end"]
    ]
    return write_csv(path, REGISTER_HEADER, rows, encoding="cp1252")  # Excel's "CSV" on Windows


# --- business pledges --------------------------------------------------------------------------
# Sector -> words a business of that sector puts after its place name.
SECTORS = {
    "Retail": ["Bakery", "Pharmacy", "Hardware", "Books"],
    "Hospitality": ["Cafe", "Kitchen", "Hotel", "Tap House"],
    "Manufacturing": ["Engineering", "Precision Ltd", "Print", "Castings"],
    "Construction": ["Builders", "Roofing", "Joinery", "Electrical"],
    "Professional services": ["Accountants", "Solicitors", "Consulting", "Recruitment"],
    "Health and care": ["Dental", "Care Homes", "Physiotherapy", "Home Care"],
    "Digital and technology": ["Digital", "Software", "IT Services", "Studios"],
    "Logistics": ["Logistics", "Couriers", "Freight", "Removals"],
    "Education and training": ["Nursery", "Training", "Tutoring", "Driving School"],
}
LIVING_WAGE = "Pay the Real Living Wage"
PLEDGES = [
    "Recruit locally from the most deprived wards",
    "Offer work placements to Job Shop clients",
    "Guaranteed interviews for care leavers",
    "Support staff mental health and wellbeing",
    "Buy from local suppliers",
    "Flexible working for parents and carers",
    "Give staff time to volunteer locally",
    "Offer apprenticeships to young people not in education or work",
]
PLACE_WORDS = [
    "Spon End",
    "Far Gosford",
    "Hillfields",
    "Earlsdon",
    "Canley",
    "Tile Hill",
    "Bell Green",
    "Stoke",
    "Coundon",
    "Whitley",
    "Wood End",
    "Radford",
]
SIZES = ["Micro", "Small", "Medium", "Large"]


def _businesses(wards, rng) -> list[dict]:
    premises = [w["population"] for w in wards]  # nothing in the demo says which ward is central
    businesses, names = [], set()
    while len(businesses) < 140:
        sector = _pick(rng, sorted(SECTORS))
        name = f"{_pick(rng, PLACE_WORDS)} {_pick(rng, SECTORS[sector])}"
        if name in names:
            continue
        names.add(name)
        ward = _weighted(rng, wards, premises)
        size = int(rng.choice(4, p=[0.45, 0.3, 0.17, 0.08]))
        living_wage = rng.random() < 0.5 - 0.25 * ward["deprivation"] + 0.12 * size
        chosen = sorted(rng.choice(len(PLEDGES), size=int(rng.integers(2, 5)), replace=False))
        businesses.append(
            {
                "business_name": name,
                "sector": sector,
                "size_band": SIZES[size],
                "ward_code": ward["code"],
                "ward_name": ward["name"],
                "date_pledged": dt.date(2023, 1, 9) + dt.timedelta(days=int(rng.integers(0, 810))),
                "pledges": "; ".join([LIVING_WAGE] * living_wage + [PLEDGES[i] for i in chosen]),
                "living_wage_employer": "Yes" if living_wage else "No",
                # A few withdraw from the network and drop off later lists.
                "withdrawn": dt.date(2024, 10, 1) if rng.random() < 0.04 else None,
            }
        )
    return sorted(businesses, key=lambda b: (b["date_pledged"], b["business_name"]))


def _write_pledges(folder: Path, businesses, snapshot: dt.date) -> Path:
    records = [
        {k: v for k, v in b.items() if k != "withdrawn"}
        | {"date_pledged": b["date_pledged"].isoformat()}
        for b in businesses
        if b["date_pledged"] <= snapshot and not (b["withdrawn"] and b["withdrawn"] <= snapshot)
    ]
    path = folder / f"business_pledges_{snapshot.isoformat()}.json"
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    wards = ward_table(lsoas)
    register = drop_folder(inbox, "council_procurement", "contracts_register")
    pledges = drop_folder(inbox, "council_procurement", "business_pledges")
    contracts, businesses = _contracts(wards, rng), _businesses(wards, rng)
    written = []
    for snapshot in SNAPSHOTS:
        written.append(_write_register(register, contracts, snapshot))
        written.append(_write_pledges(pledges, businesses, snapshot))
    return written
