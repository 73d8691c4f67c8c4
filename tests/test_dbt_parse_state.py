"""dbt's parse state fits every home: a home without one of its own, or with a copied home's,
starts dbt from a state carrying this home's profile hash, so dbt parses only what changed
instead of the whole project. Proven with dbt itself (``dbt parse``), reading its own log."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from marmot_assets.config import DBT_PROJECT_DIR, get_settings
from marmot_assets.transform.project import (
    PARSE_STATE,
    dbt_environment,
    dbt_executable,
    fit_to_home,
    profile_hash,
    seed_partial_parse,
)


def _parse(target: Path) -> list[str]:
    """dbt's messages of a ``dbt parse`` into ``target`` (dbt.log, JSON lines)."""
    subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
         "--log-path", str(target), "--log-level-file", "debug", "--log-format-file", "json",
         "--quiet"],
        env=os.environ, check=True, capture_output=True,
    )  # fmt: skip
    lines = (target / "dbt.log").read_text().splitlines()
    return [json.loads(line)["info"]["msg"] for line in lines if line.startswith("{")]


def test_a_new_home_and_a_copied_home_parse_only_what_changed(marmot_home, monkeypatch):
    dbt_environment()
    prepared = DBT_PROJECT_DIR / "target" / PARSE_STATE
    assert prepared.is_file(), "make prepare first"
    first = marmot_home / "dbt" / "target" / "first"
    seed_partial_parse(first)
    messages = _parse(first)
    assert not any("Unable to do partial parsing" in m for m in messages), messages[:20]
    assert any(m.startswith("Partial parsing enabled") or "Nothing changed" in m
               for m in messages)  # fmt: skip
    # The state dbt left for this home, used as it is in another home, is not taken up:
    # dbt is not fooled into another profile, it parses everything ...
    other = marmot_home / "dbt" / "target" / "other"
    other.mkdir(parents=True)
    shutil.copyfile(first / PARSE_STATE, other / PARSE_STATE)
    elsewhere = marmot_home.parent / "elsewhere"
    monkeypatch.setenv("MARMOT_HOME", str(elsewhere))
    get_settings.cache_clear()
    dbt_environment()
    assert any("profile has changed" in m for m in _parse(other))
    # ... and once fitted to that home, it is taken up there
    fitted = elsewhere / "dbt" / "target" / "fitted"
    fitted.mkdir(parents=True)
    fit_to_home(first / PARSE_STATE, fitted / PARSE_STATE)
    assert not any("Unable to do partial parsing" in m for m in _parse(fitted))


def test_the_hash_differs_by_warehouse_and_a_state_dbt_cannot_read_is_passed_on(marmot_home):
    assert profile_hash(Path("/a/warehouse.duckdb")) != profile_hash(Path("/b/warehouse.duckdb"))
    assert profile_hash(Path("/a/warehouse.duckdb"))["name"] == "sha256"
    broken = marmot_home / "broken.msgpack"
    marmot_home.mkdir(parents=True)
    broken.write_bytes(b"\x00not msgpack")
    fit_to_home(broken, marmot_home / "out.msgpack")
    assert (marmot_home / "out.msgpack").read_bytes() == b"\x00not msgpack"


def test_a_homes_own_state_is_copied_and_a_copied_homes_is_fitted(marmot_home, monkeypatch):
    from marmot_assets.transform import project

    dbt_environment()
    first = marmot_home / "dbt" / "target" / "first"
    seed_partial_parse(first)  # no state of its own yet: the prepared one, fitted
    project.keep_partial_parse(first)  # as the dbt step does after dbt
    fitted = []
    monkeypatch.setattr(project, "fit_to_home", lambda *paths: fitted.append(paths))
    second = marmot_home / "dbt" / "target" / "second"
    seed_partial_parse(second)
    assert fitted == []
    kept = marmot_home / "dbt" / PARSE_STATE
    assert (second / PARSE_STATE).read_bytes() == kept.read_bytes()
    # the same home copied elsewhere (as the tests copy refreshed homes): fitted there
    copy = marmot_home.parent / "copy"
    shutil.copytree(marmot_home, copy)
    monkeypatch.setenv("MARMOT_HOME", str(copy))
    get_settings.cache_clear()
    seed_partial_parse(copy / "dbt" / "target" / "third")
    assert fitted == [(copy / "dbt" / PARSE_STATE, copy / "dbt" / "target" / "third" / PARSE_STATE)]
