"""BI tools on the serving file: every published table read through SQLAlchemy + duckdb-engine
with the read-only connection Superset is given; docs/published-tables.md as the dbt docs
render it; and a real Apache Superset (bi/superset/start.sh, its own virtualenv) serving a
hand-made serving file on a free loopback port, queried through its REST API."""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from helpers import free_port

from marmot_assets.publish import docs

REPO = Path(__file__).resolve().parents[1]
START = REPO / "bi" / "superset" / "start.sh"
# Superset's virtualenv is cached across runs (a cold install takes minutes).
VENV = Path(os.environ.get("MARMOT_SUPERSET_VENV", Path.home() / ".cache" / "marmot-superset-venv"))
CONNECT_ARGS = {
    "read_only": True,
    "config": {"enable_external_access": False, "lock_configuration": True},
}
SCORECARD = [  # principle_id, principle_name, period_year, series, worse_than_england
    (1, "Give every child the best start in life", 2022, 12, 3),
    (1, "Give every child the best start in life", 2023, 12, 2),
    (2, "Enable all children, young people and adults to maximise their capabilities", 2022, 9, 1),
]
# the mart's 'system' line (the Marmot approach, no principle): not an indicator line
SYSTEM_LINE = (None, "The Marmot approach", 2022, 1, 5)


def _superset_module():
    spec = importlib.util.spec_from_file_location(
        "marmot_superset", REPO / "bi" / "superset" / "marmot_superset.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_serving_file(path: Path) -> Path:
    """A serving file with every published table and its documented columns (one row each;
    mart_principle_scorecard holds SCORECARD)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for table in docs.published_tables():
            columns = ", ".join(f'"{n}" {t or "varchar"}' for n, t, _ in table["columns"])
            con.execute(f'create table "{table["name"]}" ({columns})')
            if table["name"] != "mart_principle_scorecard":
                first = table["columns"][0][0]
                con.execute(f'insert into "{table["name"]}" ("{first}") values (null)')
        con.executemany(
            "insert into mart_principle_scorecard (scorecard_line, principle_id, principle_name, "
            "period_year, series, worse_than_england) values (?, ?, ?, ?, ?, ?)",
            [("indicators", *row) for row in SCORECARD] + [("system", *SYSTEM_LINE)],
        )
    return path


# --- fast: no Superset -------------------------------------------------------------------------
def test_published_tables_doc_is_rendered_from_dbt_docs():
    committed = docs.DOCS_FILE.read_text(encoding="utf-8")
    assert committed == docs.render(), (
        "docs/published-tables.md drifted from the dbt docs: "
        "run .venv/bin/python -m marmot_assets.publish.docs"
    )
    names = [t["name"] for t in docs.published_tables()]
    for table in ["fct_indicator_values", "mart_principle_scorecard", "changes"]:
        assert f"## {table}" in committed and table in names
    assert names[-2:] == ["changes", "release_manifest"]


def test_every_published_table_reads_through_duckdb_engine_read_only(tmp_path):
    path = make_serving_file(tmp_path / "serving" / "marmot.duckdb")
    engine = sa.create_engine(f"duckdb:///{path}", connect_args=CONNECT_ARGS)
    try:
        with engine.connect() as con:
            for table in docs.published_tables():
                name = table["name"]
                got = [
                    r[0]
                    for r in con.execute(
                        sa.text(
                            "select column_name from information_schema.columns "
                            "where table_name = :t order by ordinal_position"
                        ),
                        {"t": name},
                    )
                ]
                assert got == [c[0] for c in table["columns"]], name
                rows = con.execute(sa.text(f'select * from "{name}"')).fetchall()
                assert rows, name
            rows = con.execute(
                sa.text(
                    "select principle_id, principle_name, period_year, series, "
                    "worse_than_england from mart_principle_scorecard "
                    "where scorecard_line = 'indicators' order by principle_id, period_year"
                )
            ).fetchall()
            assert [tuple(r) for r in rows] == SCORECARD
        for denied in [
            "select * from read_csv('/etc/passwd')",
            "set enable_external_access = true",
            "create table t as select 1",
        ]:
            with engine.connect() as con, pytest.raises(sa.exc.DBAPIError):
                con.execute(sa.text(denied))
    finally:
        engine.dispose()


# --- slow: a real Superset ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def superset(tmp_path_factory):
    home = tmp_path_factory.mktemp("superset") / "marmot"
    serving = make_serving_file(home / "serving" / "marmot.duckdb")
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "MARMOT_HOME": str(home),
        "MARMOT_SUPERSET_VENV": str(VENV),
        "MARMOT_SUPERSET_PORT": str(free_port()),
        "MARMOT_SUPERSET_ADMIN": "admin",
        "MARMOT_SUPERSET_ADMIN_PASSWORD": password,
    }
    env.pop("SUPERSET_SECRET_KEY", None)
    started = time.monotonic()
    subprocess.run(  # the virtualenv: created once, then reused (the stamp matches)
        [str(START)], env={**env, "MARMOT_SUPERSET_INSTALL_ONLY": "1"}, check=True, timeout=2400
    )
    print(f"superset venv ready in {time.monotonic() - started:.0f}s")
    log = home.parent / "start.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(START)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 600
        while "superset: ready on " not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                server_log = home / "superset" / "server.log"
                tail = server_log.read_text()[-4000:] if server_log.is_file() else ""
                pytest.fail(f"Superset did not start:\n{log.read_text()}\n{tail}")
            time.sleep(1)
        url = log.read_text().split("superset: ready on ")[1].split()[0]
        module = _superset_module()
        yield {
            "client": module.Client(url, "admin", password),
            "module": module,
            "home": home,
            "serving": serving,
            "url": url,
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # nothing of the session is left running (gunicorn and its worker included)
        leftover = subprocess.run(
            ["pgrep", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        for pid in leftover:
            os.kill(int(pid), signal.SIGKILL)
        assert not leftover, f"processes left behind: {leftover}"


def _database_id(superset) -> int:
    found = superset["client"].find("database", "database_name", superset["module"].DATABASE_NAME)
    assert found, "the serving database is not registered"
    return found["id"]


@pytest.mark.e2e
@pytest.mark.slow
def test_superset_serves_the_scorecard_read_only(superset):
    client, module = superset["client"], superset["module"]
    database = client.request("GET", f"/api/v1/database/{_database_id(superset)}/connection")[
        "result"
    ]
    assert database["sqlalchemy_uri"] == f"duckdb:///{superset['serving'].resolve()}"
    assert database["allow_dml"] is False and database["allow_file_upload"] is False
    assert '"read_only": true' in database["extra"]
    assert '"enable_external_access": false' in database["extra"]

    result = client.sql(
        _database_id(superset),
        "select principle_id, principle_name, period_year, series, worse_than_england "
        "from mart_principle_scorecard where scorecard_line = 'indicators' "
        "order by principle_id, period_year",
    )
    rows = [
        (r["principle_id"], r["principle_name"], r["period_year"], r["series"],
         r["worse_than_england"])
        for r in result["data"]
    ]  # fmt: skip
    assert rows == SCORECARD

    dashboards = client.request("GET", "/api/v1/dashboard/")["result"]
    [dashboard] = [d for d in dashboards if d["slug"] == module.DASHBOARD_SLUG]
    assert dashboard["dashboard_title"] == module.DASHBOARD_TITLE
    charts = client.request("GET", f"/api/v1/dashboard/{dashboard['id']}/charts")["result"]
    assert len(charts) == 3
    # the chart's own query, as the dashboard runs it: the principles' lines, year by year
    [worse] = [c for c in charts if c["slice_name"].startswith("Series worse than England")]
    data = client.request("GET", f"/api/v1/chart/{worse['id']}/data/")["result"][0]["data"]
    shown = sorted((r["principle_name"], r["period_year"], r["worse than England"]) for r in data)
    assert shown == sorted((name, year, worse) for _, name, year, _, worse in SCORECARD)

    # Provisioning again (as a restart does) removes the chart an earlier version made.
    retired = module.RETIRED_CHARTS[0]
    scorecard = client.find("dataset", "table_name", "mart_principle_scorecard")["id"]
    client.request("POST", "/api/v1/chart/", {"slice_name": retired, "viz_type": "table",
                                               "datasource_id": scorecard,
                                               "datasource_type": "table"})  # fmt: skip
    assert client.find("chart", "slice_name", retired) is not None
    again = module.provision(client, superset["serving"])
    assert client.find("chart", "slice_name", retired) is None
    assert sorted(again["charts"]) == sorted(c["id"] for c in charts)
    datasets = {d["table_name"] for d in client.request("GET", "/api/v1/dataset/")["result"]}
    assert datasets == {"mart_principle_scorecard", "mart_ward_profile"}


@pytest.mark.e2e
@pytest.mark.slow
def test_superset_cannot_read_host_files(superset):
    client, module = superset["client"], superset["module"]
    for sql in [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
    ]:
        with pytest.raises(module.SupersetError) as failed:
            client.sql(_database_id(superset), sql)
        assert "root:" not in failed.value.body
        assert "file system operations are disabled by configuration" in failed.value.body
    # nor can a query turn external access back on
    with pytest.raises(module.SupersetError):
        client.sql(_database_id(superset), "set enable_external_access = true")
    config = (superset["home"] / "superset" / "superset_config.py").read_text()
    assert "PREVENT_UNSAFE_DB_CONNECTIONS = False" in config
    key = superset["home"] / "superset" / "secret_key"
    assert key.stat().st_mode & 0o077 == 0
