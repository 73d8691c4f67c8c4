"""Voluntary and community groups' stories: Markdown with YAML front matter through the door;
staging withholds the body of any story that may not be published."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from helpers import inbox_bytes, inbox_files, render_model_sql

from marmot_assets.config import DBT_PROJECT_DIR
from marmot_assets.partners.contract import get_contract

CONTRACT = get_contract("vcs/stories")
STAGING = DBT_PROJECT_DIR / "models" / "staging" / "vcs" / "stg_vcs__stories.sql"
GOOD = """---
title: Breakfast club
partner: Open Door Community Pantry
principles: [1, 4]
ward: Foleshill
date: 2024-03-12
consent_to_publish: true
contains_personal_data: false
---

Children started the day fed.
"""


def story(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def staged(con):
    """Rows of the staging model, run on this warehouse."""
    sql = render_model_sql(
        STAGING,
        {
            "vcs__stories": "raw.vcs__stories",
            "stg_ons__lsoa_ward_lookup": "raw.ons_lsoa_ward_lookup",
        },
    )
    return con.execute(f"select * from ({sql}) order by organisation").fetchdf()


def test_demo_writes_stories_with_front_matter(demo_root):
    files = inbox_files(demo_root, CONTRACT)
    assert len(files) == 13  # twelve stories, one sent again with consent
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md", p.name) for p in files)
    text = files[0].read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: ")
    for field in (
        "partner:",
        "principles:",
        "ward:",
        "date:",
        "consent_to_publish:",
        "contains_personal_data:",
    ):
        assert f"\n{field}" in text


def test_demo_is_deterministic(demo_root, demo_again):
    assert inbox_bytes(demo_again, CONTRACT) == inbox_bytes(demo_root, CONTRACT)


def test_demo_stories_load_and_unpublishable_bodies_are_withheld(demo_root, door):
    verdicts = door.receive_inbox(demo_root)
    assert [v.status for v in verdicts] == ["loaded"] * 13
    rows = staged(door.con)
    assert len(rows) == 12
    assert rows["ward_code"].notna().all()  # names and codes both matched to the place's wards
    publishable = rows[rows["is_publishable"]]
    withheld = rows[~rows["is_publishable"]]
    assert len(withheld) == 3 and withheld["body"].isna().all()
    assert publishable["body"].notna().all()
    # The story resent with consent replaced the first version.
    warm = rows[rows["organisation"] == "Warm Spaces Network"].iloc[0]
    assert warm["consent_to_publish"] and warm["is_publishable"]
    assert "Everyone in the story agreed" in warm["body"]
    # Personal data never reaches staging: the named people of the withheld stories.
    assert not rows["body"].fillna("").str.contains("Daniel|Amira").any()
    pantry = rows[rows["organisation"] == "Open Door Community Pantry"].iloc[0]
    assert list(pantry["principle_ids"]) == [1, 4]
    # ... nor the raw layer: the door blanks the text of stories flagged as personal data.
    raw = door.rows("select contains_personal_data, body from raw.vcs__stories")
    assert sum(flag for flag, _ in raw) == 2
    assert all(body is None for flag, body in raw if flag)
    assert all(body for flag, body in raw if not flag)
    assert not any("Daniel" in (body or "") or "Amira" in (body or "") for _, body in raw)


def test_ward_given_by_name_or_code_and_unknown_ward_stays_unmatched(door, tmp_path):
    by_code = GOOD.replace("ward: Foleshill", "ward: E05001222").replace("Breakfast", "Lunch")
    unknown = GOOD.replace("ward: Foleshill", "ward: Atlantis").replace("Breakfast", "Tea")
    for name, text in (("a.md", GOOD), ("b.md", by_code), ("c.md", unknown)):
        assert door.receive(story(tmp_path, name, text)).status == "loaded"
    wards = dict(staged(door.con)[["title", "ward_code"]].itertuples(index=False))
    assert wards["Breakfast club"] == wards["Lunch club"] == "E05001222"
    assert pd.isna(wards["Tea club"])


def test_bad_front_matter_is_rejected_naming_file_and_column(door, tmp_path):
    missing = story(tmp_path, "no-consent.md", GOOD.replace("consent_to_publish: true\n", ""))
    v = door.receive(missing)
    assert v.status == "rejected"
    assert "no-consent.md" in v.error and "consent_to_publish" in v.error

    bad_principle = story(tmp_path, "principle-9.md", GOOD.replace("[1, 4]", "[1, 9]"))
    v = door.receive(bad_principle)
    assert v.status == "rejected"  # the one row broke the contract
    assert [(q["column_name"], q["value"]) for q in v.quarantine] == [("principles", "1|9")]

    unsure = story(
        tmp_path, "unsure.md", GOOD.replace("consent_to_publish: true", "consent_to_publish: maybe")
    )
    v = door.receive(unsure)
    assert v.status == "rejected"
    assert [q["column_name"] for q in v.quarantine] == ["consent_to_publish"]

    # Without a leading '---' the file is not recognised as Markdown at all.
    no_front = story(tmp_path, "plain.md", "Just a story, no front matter.\n")
    v = door.receive(no_front)
    assert v.status == "rejected" and "plain.md" in v.error and "markdown" in v.error

    unclosed = story(tmp_path, "unclosed.md", "---\ntitle: Breakfast club\nThe story.\n")
    v = door.receive(unclosed)
    assert v.status == "rejected" and "front matter" in v.error


def test_story_text_never_reaches_the_quarantine(door, tmp_path):
    secret = "Mrs Jones at number 12 told us"
    text = (
        GOOD.replace("date: 2024-03-12", "date: someday")
        .replace("Children started the day fed.", secret)
        .replace("title: Breakfast club", f"title: {secret}")
    )
    v = door.receive(story(tmp_path, "bad-date.md", text))
    assert v.status == "rejected"
    assert [(q["column_name"], q["value"]) for q in v.quarantine] == [("date", "someday")]
    assert door.rows("select count(*) from raw.quarantine where value like '%Jones%'") == [(0,)]
    assert secret not in (v.error or "")


def test_earlier_stories_unchanged_after_a_bad_delivery(demo_root, door, tmp_path):
    for path in inbox_files(demo_root, CONTRACT)[:3]:
        door.receive(path)
    before = door.rows("select * from raw.vcs__stories order by all")
    v = door.receive(story(tmp_path, "broken.md", "---\ntitle: [unclosed\n---\nbody\n"))
    assert v.status == "rejected" and "broken.md" in v.error
    assert door.rows("select * from raw.vcs__stories order by all") == before
