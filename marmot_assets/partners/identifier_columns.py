"""Columns that hold names or dates of birth, told by their header's meaning or their values.

Split from ``screen.py`` (which walks files) so that the word lists and the shape rules sit
together. The rules:

- **Header by meaning**, in words (camelCase split, any punctuation): a date of birth is
  "DOB", "D.O.B.", "date of birth", "birth date", "birth_dt", "born", "bday", "birthday",
  "year of birth"; not "country/place of birth", "birth weight" or "born in the UK". A name
  is "forename", "surname", "fname", "first/last/given/family/middle/maiden/full name",
  "initials", "name" alone, or "<qualifier> name" / "name of <qualifier>". The word before
  "name" decides first: a person ("client", "patient", "mother", "carer", "contact", ...)
  makes it a name ("school contact name"); "<qualifier> code" elsewhere in the header makes
  it a coded thing's name (Fingertips' "Parent Name" beside "Parent Code"). Otherwise a
  thing or a place anywhere in the header ("ward", "LSOA", "hub", "school", "service",
  "supplier", "organisation", "partner", "indicator", "area", "local authority", ...) means
  it is not a person's name, and an unknown qualifier counts as a person (the safe side).
  A header only condemns a column that holds a value below it: empty cells, placeholders
  ("n/a", "redacted") and hex digests (a name pseudonymised under its old header) do not.
- **Values shaped like names**: one to four capitalised words (or "SURNAME, Forename"),
  where the first word is a common forename (the list below), or the first is a title (Mr,
  Mrs, Dr, ...), or the last of two or more is a common surname; or two or three words in
  lower case of which the first is a common forename. Forenames that are also everyday
  words (April, May, Will, Hope, Max, ...) are left out of the list. A column is a name
  column when at least 30% of its values, and at least 3 (or all, if fewer), are so shaped.
- **Values shaped like dates of birth**: at least 5 values, 80% of them full dates (ISO,
  d/m/y or m/d/y, "3 March 1990", "03-Mar-90", yyyymmdd, with or without a time), 95% of
  those in the past, and more than 5 years between the 5th and the 95th percentile: dates
  of people's births spread over decades, the dates of events in one delivery over a year
  or two. A column headed "date of death" is exempt.
  A single year group's births (one year wide) are caught by their header, not their shape.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from marmot_assets.partners.identifier_patterns import SEP, is_digest, mask_digests
from marmot_assets.reading.headers import normalise

FORENAMES = frozenset(
    """
    oliver george harry noah jack leo arthur muhammad mohammed mohammad mohamed ahmed ali
    oscar charlie jacob thomas henry william james joshua alfie freddie archie theo isaac
    alexander joseph samuel daniel logan edward lucas ethan finley tommy adam dylan riley
    mason benjamin hugo sebastian rory teddy reuben elijah louie jaxon frankie albert
    harrison zachary arlo toby jude ryan tyler liam nathan callum connor kieran jamie luke
    matthew michael david john peter paul richard robert christopher andrew stephen mark
    anthony kevin gary steven simon ian neil martin lee craig wayne darren dean jason scott
    shaun carl colin brian keith alan barry derek trevor graham malcolm kenneth dennis roy
    raymond frank stanley ronald donald harold leslie norman gordon philip patrick sean
    declan conor aidan ciaran niall owen rhys dafydd gareth huw aaron adrian ben sam joe
    dan tom jake josh kyle bradley elliot elliott ibrahim yusuf omar hassan hussain
    hamza bilal usman imran tariq zain ayaan rayyan aarav arjun rohan vikram rajesh sanjay
    amit vijay harpreet gurpreet jaspreet manpreet sukhdeep kulwinder balvinder jakub kacper
    szymon filip mateusz piotr tomasz marcin krzysztof andrzej pawel chidi emeka tunde kwame
    kofi segun olu femi amara olivia amelia isla ava ivy freya lily florence mia willow rose
    sophia isabella grace evie poppy ella sophie charlotte elsie aria daisy sienna phoebe
    maya emily alice millie evelyn ruby harper matilda luna isabelle jessica chloe emma
    hannah lucy katie megan holly amy laura rebecca rachel sarah samantha hayley natalie
    gemma kirsty stacey kelly leanne nicola claire lisa michelle joanne karen julie tracey
    donna angela helen susan elizabeth mary margaret patricia linda barbara jennifer
    catherine christine janet jean carol janice sandra pauline valerie maureen brenda shirley
    sheila doreen irene joan joyce doris dorothy edith ethel mavis hilda gladys eileen
    kathleen bridget siobhan niamh aoife ciara sinead roisin zainab fatima aisha ayesha
    maryam khadija amina hafsa safiya sumaya yasmin noor layla zara hana sana iqra mariam
    priya anjali pooja neha sunita kavita simran harleen jasleen manjit rajinder parminder
    zuzanna julia oliwia hanna maja lena alicja natalia agnieszka katarzyna magdalena
    anna joanna ngozi chioma funmilayo adaeze abena ama esther ruth deborah naomi miriam
    leah abigail bethany jade paige courtney shannon chantelle jasmine alisha tia keira
    kayla eleanor ellie georgia lauren molly scarlett imogen harriet martha beatrice
    penelope violet eva ellie mila aurora hallie nancy margot elodie thea orla lyla
    """.split()
)
SURNAMES = frozenset(
    """
    smith jones williams taylor davies evans thomas johnson roberts walker wright robinson
    thompson hughes edwards lewis clarke clark jackson harris turner martin cooper morris
    moore harrison baker allen mitchell anderson scott campbell stewart murray kelly murphy
    walsh ryan wilson davis miller james phillips watson parker bennett carter shaw collins
    richardson adams ellis marshall patel khan ahmed hussain ali singh kaur begum shah
    sharma kumar mahmood iqbal akhtar rahman islam hussein mohammed kowalski nowak okafor
    adeyemi mensah nguyen chen wang lee jenkins morgan price griffiths owen lloyd rees
    hall morgan bailey cox richards webb simpson palmer mason holmes knight butler barker
    russell fisher dixon hunt gibson grant kennedy ward o'brien o'connor mcdonald macdonald
    """.split()
)
TITLES = frozenset("mr mrs ms miss mx dr prof sir dame rev master".split())
PLACEHOLDERS = frozenset(
    "na n a n/a null none nil unknown not known redacted removed withheld x * - --".split()
    + ["not known", "not recorded", "[redacted]", "not stated"]
)
_PERSON = frozenset(
    """first last given family full middle maiden sur fore christian preferred known legal
    birth display nick user client patient child children pupil student parent parents
    mother father mum dad carer guardian person people customer resident tenant applicant
    participant member baby infant contact kin relative spouse gp doctor worker staff
    employee victim offender suspect witness claimant referrer young""".split()
)
_THING = frozenset(
    """ward wards lsoa lsoas msoa oa lad la lea authority council area region county country
    city town district borough parish locality neighbourhood place geography street road
    location site venue premises building estate hub centre center school college academy
    nursery university setting provider practice surgery hospital trust pcn icb ccg clinic
    pharmacy service services team department directorate supplier vendor contractor
    organisation organization org company business employer firm charity partner agency
    group club project programme program intervention scheme fund grant contract framework
    indicator metric measure measures dataset data source file sheet table column field
    variable category type class course qualification subject benefit product item drug
    medication medicine condition diagnosis procedure event activity session outcome status
    date month period year quarter term gender sex age ethnicity religion language
    nationality host path domain brand model route station sector industry title""".split()
)
_NAME_WORDS = frozenset(
    """surname surnames forename forenames firstname firstnames lastname fullname givenname
    givennames familyname middlename maidenname nickname christianname initials fname lname
    sname fnm lnm firstnm lastnm forenm surnm""".split()
)
_DATE_WORDS = frozenset("date dt dte day d year yr month".split())
_FREE_TEXT_WORDS = frozenset(
    """note notes comment comments commentary remark remarks description descriptions detail
    details narrative story stories body summary feedback context observation observations
    freetext""".split()
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKEN = r"[A-Z][A-Za-z'\u2019\-]*"
_NAME_SHAPE = re.compile(
    rf"(?:{_TOKEN}\.?\s+)?{_TOKEN}(?:\s+{_TOKEN}){{0,3}}|{_TOKEN}(?:\s+{_TOKEN})?,\s*{_TOKEN}"
    rf"(?:\s+{_TOKEN})?"
)
_LOWER_NAME = re.compile(r"[a-z]+(?:['\u2019\-][a-z]+)?(?: [a-z]+(?:['\u2019\-][a-z]+)?){1,2}")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DATE_VALUE = re.compile(
    r"(?:(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"|(?P<d2>\d{1,2})[/.\-](?P<m2>\d{1,2})[/.\-](?P<y2>\d{4}|\d{2})"
    r"|(?P<d3>\d{1,2})(?:st|nd|rd|th)?[\s\-/]+(?P<m3>[A-Za-z]{3})[a-z]*\.?[\s\-/,]+"
    r"(?P<y3>\d{4}|\d{2})"
    r"|(?P<y4>(?:18|19|20)\d{2})(?P<m4>\d{2})(?P<d4>\d{2}))(?:[T ][\d:.]+Z?)?"
)


def header_words(header) -> list[str]:
    """A header's words in lower case: "patientSurname" -> ["patient", "surname"]."""
    return normalise(_CAMEL.sub(" ", str(header))).split()


def header_kind(header, others: Collection[str] = ()) -> str | None:
    """What the header says the column holds, "a name" or "a date of birth", else None.
    ``others``: the file's other headers ("Parent Name" beside "Parent Code" is an area's)."""
    words = header_words(header)
    joined = " ".join(words)
    plain = set(words) | set(normalise(header).split())  # "DOBs" is not camelCase
    if (
        {"dob", "dobs", "bday", "birthday", "birthdate", "bdate", "dateofbirth", "birthdt"} & plain
        or "d o b" in f" {joined} "
        or ("birth" in words and (len(words) == 1 or bool(_DATE_WORDS & set(words))))
        or ("born" in words and not {"in", "abroad", "outside", "overseas"} & set(words))
    ):
        return "a date of birth"
    if _NAME_WORDS & plain or any(
        w.rstrip("s").endswith("name") and w.rstrip("s")[:-4] in _PERSON for w in words
    ):
        return "a name"  # "Forename", "clientname"
    for i, word in enumerate(words):
        if word not in ("name", "names"):
            continue
        after = words[i + 2] if words[i + 1 : i + 2] == ["of"] and i + 2 < len(words) else None
        qualifier = words[i - 1] if i > 0 and words[i - 1] not in ("s", "the") else after
        if i > 1 and words[i - 1] == "s":  # "mother's name"
            qualifier = words[i - 2]
        if f"{qualifier} code" in {normalise(o) for o in others}:
            return None
        if qualifier in _PERSON:  # "school contact name": the word before "name" decides
            return "a name"
        others = set(words) - {"name", "names", "of", "the", "s", "a", "an"}
        return None if others & _THING else "a name"
    return None


def is_free_text_header(header, free_text: set[str]) -> bool:
    """A contract's text column (by its name's words, in normal form) or a header whose words
    say notes, comments, remarks, description, details, free text, narrative, story, body."""
    words = set(header_words(header))
    if any(name and set(name.split()) <= words for name in free_text):
        return True
    return bool(words & _FREE_TEXT_WORDS) or {"free", "text"} <= words


def is_value(value: str) -> bool:
    """A cell that holds something: not empty, not a placeholder, not a hex digest."""
    text = value.strip()
    return bool(text) and text.lower() not in PLACEHOLDERS and not is_digest(text)


def screenable(uniques: list[str]) -> tuple[list[int], list[str]]:
    """The distinct values that hold something (not empty, a placeholder or a hex digest),
    by position, and their text with any digest inside them blanked."""
    text = SEP.join(uniques)
    if text.count(SEP) != len(uniques) - 1:  # a value held the separator itself
        text = SEP.join(u.replace(SEP, " ") for u in uniques)
    parts = mask_digests(text).split(SEP)
    kept = [k for k, part in enumerate(parts) if _holds_value(part)]
    return kept, [parts[k] for k in kept]


def _holds_value(part: str) -> bool:
    text = part.strip()
    return bool(text.strip("#")) and text.lower() not in PLACEHOLDERS


def header_like(cell: str) -> bool:
    """Short, and no digits: a header, not a value that mentions a birth."""
    return 0 < len(cell) < 40 and not any(c.isdigit() for c in cell)


def looks_like_name(value: str) -> bool:
    text = value.strip()
    if _LOWER_NAME.fullmatch(text):  # "amara okafor": a forename and more, in lower case
        return text.split()[0] in FORENAMES
    if not _NAME_SHAPE.fullmatch(text):
        return False
    if "," in text:
        surname, forenames = (part.split() for part in text.lower().split(",", 1))
        return forenames[0] in FORENAMES or surname[-1] in SURNAMES
    words = text.lower().rstrip(".").replace(".", " ").split()
    if words[0] in TITLES:
        return len(words) >= 2
    return words[0] in FORENAMES or len(words) >= 2 and words[-1] in SURNAMES


def month_of(value: str) -> int | None:
    """A full date as months since year 0 (y * 12 + m - 1), else None."""
    m = _DATE_VALUE.fullmatch(value.strip())
    if not m:
        return None
    g = m.groupdict()
    year = g["y"] or g["y2"] or g["y3"] or g["y4"]
    month = g["m"] or g["m2"] or g["m4"] or _MONTHS.get((g["m3"] or "").lower())
    day = g["d"] or g["d2"] or g["d3"] or g["d4"]
    if len(year) == 2:  # "03/03/90": the latest century that is not in the future
        year = int(year) + (2000 if int(year) <= dt.date.today().year % 100 else 1900)
    year, month, day = int(year), int(month or 0), int(day)
    if month > 12 >= day and g["m2"]:  # "03/25/1990": month first, as American software writes
        month, day = day, month
    if not (1880 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return year * 12 + month - 1


@dataclass
class NameTally:
    values: int = 0
    names: int = 0
    first_row: int | None = None

    def verdict(self) -> bool:
        return self.names >= max(1, min(3, self.values)) and self.names >= 0.3 * self.values


@dataclass
class DateTally:
    values: int = 0
    dates: int = 0
    past: int = 0
    months: Counter = field(default_factory=Counter)
    first_row: int | None = None

    def add(self, month: int | None, count: int) -> None:
        self.values += count
        if month is not None:
            self.dates += count
            self.months[month] += count
            today = dt.date.today()
            self.past += count if month <= today.year * 12 + today.month - 1 else 0

    def verdict(self) -> bool:
        if self.dates < 5 or self.dates < 0.8 * self.values or self.past < 0.95 * self.dates:
            return False
        return self._percentile(0.95) - self._percentile(0.05) > 60

    def _percentile(self, q: float) -> int:
        seen = 0
        for month in sorted(self.months):
            seen += self.months[month]
            if seen >= q * self.dates:
                return month
        return max(self.months)


def is_death_header(header) -> bool:
    words = set(header_words(header))
    return "death" in words or "dod" in words or "died" in words
