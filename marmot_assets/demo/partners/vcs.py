"""Voluntary and community groups: stories as Markdown files with YAML front matter.

The groups are invented for the demo (no real organisation's name is put to an invented
story). Stories come more often from more deprived wards, as the groups' work does. Some
lack consent or hold personal data: the platform must keep those bodies unpublished. One
story is sent again with consent given, as a revision.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from marmot_assets.demo.partners import drop_folder, ward_table

# (group, title, principles, consent_to_publish, contains_personal_data, body)
STORIES = [
    (
        "Open Door Community Pantry",
        "Holiday breakfast club keeps children fed",
        [1, 4],
        True,
        False,
        "Over the summer holidays we served breakfast three mornings a week. Families told "
        "us the club meant their children started the day fed and with friends, and parents used "
        "the time to talk to our benefits adviser.",
    ),
    (
        "Bright Start Parents' Network",
        "Dads' group at the family hub",
        [1, 6],
        True,
        False,
        "A fortnightly group for fathers of under-fives now meets at the family hub. Several dads "
        "said it was the first time they had talked about how tired and anxious they felt, and "
        "two went on to the parenting course.",
    ),
    (
        "Canal Side Walking Group",
        "Walking our way back to health",
        [5, 6],
        True,
        False,
        "Our Tuesday walk has grown from six to thirty regulars. Many were referred by their GP "
        "practice's social prescriber; most say they now walk on other days too.",
    ),
    (
        "Second Chance Employment Project",
        "From the Job Shop to a first pay packet",
        [2, 3],
        True,
        True,
        "Daniel, 42, had not worked for nine years after his accident. With support "
        "from the Job Shop and our mentors he started at a warehouse on Monday; his daughter "
        "Chloe came to the celebration.",
    ),
    (
        "Warm Spaces Network",
        "A warm room and a hot drink",
        [4, 5],
        False,
        False,
        "Through the winter the community centre stayed open as a warm space five days a week. "
        "Older neighbours who live alone came for the warmth and stayed for the company.",
    ),
    (
        "Roots Allotment Collective",
        "Growing food, growing friendships",
        [5, 8],
        True,
        False,
        "The shared plot now feeds the pantry every week from June to October. Volunteers from "
        "eleven countries garden side by side and swap recipes as well as seeds. The new raised "
        "beds came from a council contract's social value commitment to community food "
        "projects.",
    ),
    (
        "New Neighbours Welcome Project",
        "Finding a GP and a school place",
        [1, 7],
        True,
        True,
        "Amira and her two sons arrived in March. We went with her to register at the surgery "
        "and to the school admissions meeting; her eldest now plays for the under-12s.",
    ),
    (
        "Youth Voice Forum",
        "Young people shape the new youth centre",
        [2, 5],
        True,
        False,
        "Twenty young people joined the design panel for the refurbished youth centre. Their "
        "ideas, a quiet study room and later opening on Fridays, are in the final plans.",
    ),
    (
        "Repair Cafe Collective",
        "Fixing things, saving money",
        [4, 8],
        True,
        False,
        "At our monthly repair cafe volunteers mended 140 items this year, from kettles to "
        "school coats, saving families money and keeping them out of landfill.",
    ),
    (
        "Kindred Carers' Circle",
        "Carers finding each other",
        [6],
        False,
        False,
        "Unpaid carers meet on the first Thursday of the month. They share tips on respite and "
        "benefits, and for some it is the only time in the month they are not caring.",
    ),
    (
        "Money Matters Advice Hub",
        "Claiming what you are owed",
        [3, 4],
        True,
        False,
        "Drop-in advice sessions helped households claim benefits they were entitled to but not "
        "receiving; the most common were Pension Credit and the carer element of Universal "
        "Credit. Two local businesses that signed the Fairer Coventry pledge now host sessions "
        "for their staff.",
    ),
    (
        "Learning Together Homework Club",
        "Homework club closes the reading gap",
        [1, 2],
        True,
        False,
        "Children on free school meals who came to the club twice a week read more books "
        "this term than last, and their teachers noticed more confidence in class.",
    ),
]
REVISED = "Warm Spaces Network"  # resent with consent given after the group asked again


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "vcs", "stories")
    wards = ward_table(lsoas)
    weights = [0.2 + w["deprivation"] for w in wards]
    weights = [w / sum(weights) for w in weights]
    written = []
    for group, title, principles, consent, personal, body in STORIES:
        ward = wards[int(rng.choice(len(wards), p=weights))]
        told = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        sent = told + dt.timedelta(days=int(rng.integers(3, 30)))
        front = {
            "title": title,
            "partner": group,
            "principles": principles,
            # Groups write the ward as they know it: mostly its name, sometimes its code.
            "ward": ward["code"] if rng.random() < 0.3 else ward["name"],
            "date": told,
            "consent_to_publish": consent,
            "contains_personal_data": personal,
        }
        written.append(_story(folder, sent, group, front, body))
        if group == REVISED:
            revised = {**front, "consent_to_publish": True}
            later = sent + dt.timedelta(days=21)
            written.append(
                _story(
                    folder,
                    later,
                    group,
                    revised,
                    body + " Everyone in the story agreed to it being shared.",
                )
            )
    return written


def _story(folder: Path, sent: dt.date, group: str, front: dict, body: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-")
    path = folder / f"{sent.isoformat()}-{slug}.md"
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n"
    path.write_text(text + body + "\n", encoding="utf-8")
    return path
