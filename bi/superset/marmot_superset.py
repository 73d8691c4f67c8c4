"""Superset for the Marmot serving warehouse: its configuration, and the database, datasets,
charts and dashboard created through Superset's REST API. Standard library only: it runs with
the Superset virtualenv's Python (from start.sh) and is imported by tests/test_superset.py.

    python marmot_superset.py config SUPERSET_HOME
    python marmot_superset.py provision --url http://127.0.0.1:8088 --serving PATH
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "superset_config.py.template"
DATABASE_NAME = "Marmot serving warehouse"
DASHBOARD_TITLE = "Marmot city: principle scorecard and ward profiles"
DASHBOARD_SLUG = "marmot-scorecard"
DATASETS = ["mart_principle_scorecard", "mart_ward_profile"]
# The only database Superset is given: the served release, read-only, external access off and
# the configuration locked (duckdb-engine passes connect_args to duckdb.connect).
EXTRA = {
    "engine_params": {
        "connect_args": {
            "read_only": True,
            "config": {"enable_external_access": False, "lock_configuration": True},
        }
    }
}


def sqlalchemy_uri(serving: Path) -> str:
    return "duckdb:///" + str(Path(serving).resolve())  # duckdb:////abs/path/marmot.duckdb


# --- configuration ---------------------------------------------------------------------------
def write_config(home: Path) -> Path:
    """``home/superset_config.py`` from the template, and ``home/secret_key`` generated once
    (kept across restarts, so sessions and encrypted fields survive) unless
    SUPERSET_SECRET_KEY is set."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    key = home / "secret_key"
    if not os.environ.get("SUPERSET_SECRET_KEY") and not key.is_file():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
    text = TEMPLATE.read_text(encoding="utf-8").replace("@@SUPERSET_HOME@@", repr(str(home)))
    out = home / "superset_config.py"
    out.write_text(text, encoding="utf-8")
    return out


# --- the REST API ----------------------------------------------------------------------------
class SupersetError(RuntimeError):
    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:2000]}")
        self.status, self.body = status, body


class Client:
    """Superset's REST API as a logged-in user: JWT access token, and the CSRF token (bound to
    the session cookie) that Superset asks for on every write."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 120):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.headers: dict[str, str] = {}
        login = {"username": username, "password": password, "provider": "db", "refresh": True}
        token = self.request("POST", "/api/v1/security/login", login)["access_token"]
        self.headers["Authorization"] = f"Bearer {token}"
        csrf = self.request("GET", "/api/v1/security/csrf_token/")["result"]
        self.headers.update({"X-CSRFToken": csrf, "Referer": self.url})

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        # a JSON content type only with a body: Superset refuses a GET that says it has one
        json_type = {} if body is None else {"Content-Type": "application/json"}
        for name, value in {**self.headers, **json_type}.items():
            req.add_header(name, value)
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as e:
            raise SupersetError(e.code, e.read().decode(errors="replace")) from None
        return json.loads(text) if text else {}

    def find(self, resource: str, column: str, value: str) -> dict | None:
        q = json.dumps({"filters": [{"col": column, "opr": "eq", "value": value}]})
        found = self.request("GET", f"/api/v1/{resource}/?q={urllib.request.quote(q)}")
        return found["result"][0] if found.get("result") else None

    def sql(self, database_id: int, sql: str) -> dict:
        """Run ``sql`` in SQL Lab, synchronously; the response holds ``data`` (rows as dicts)."""
        body = {"database_id": database_id, "sql": sql, "runAsync": False, "schema": "main",
                "tab": "marmot", "client_id": secrets.token_hex(5)}  # fmt: skip
        return self.request("POST", "/api/v1/sqllab/execute/", body)


def wait_healthy(url: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Superset at {url} not healthy after {seconds:.0f}s")
        time.sleep(1)


def ensure_database(client: Client, serving: Path) -> int:
    body = {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": sqlalchemy_uri(serving),
        "extra": json.dumps(EXTRA),
        "expose_in_sqllab": True,
        "allow_dml": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_file_upload": False,
        "allow_run_async": False,
    }
    found = client.find("database", "database_name", DATABASE_NAME)
    if found:
        client.request("PUT", f"/api/v1/database/{found['id']}", body)
        return found["id"]
    return client.request("POST", "/api/v1/database/", body)["id"]


def ensure_dataset(client: Client, database_id: int, table: str) -> int:
    found = client.find("dataset", "table_name", table)
    if found:
        client.request("PUT", f"/api/v1/dataset/{found['id']}/refresh")
        return found["id"]
    body = {"database": database_id, "schema": "main", "table_name": table}
    return client.request("POST", "/api/v1/dataset/", body)["id"]


def dataset_columns(client: Client, dataset_id: int) -> list[str]:
    result = client.request("GET", f"/api/v1/dataset/{dataset_id}")["result"]
    return [c["column_name"] for c in result["columns"]]


# Charts earlier versions provisioned, removed when provisioning again: "by principle" summed
# every year's lines and counted the 'system' line (not an indicator) with the principles'.
RETIRED_CHARTS = ("Series worse than England, by principle",)


def query_context(dataset_id: int, params: dict) -> dict:
    """The query a table chart's params stand for, saved with the chart as Superset's editor
    saves it: the chart data API (``/api/v1/chart/<id>/data/``, used by reports, alerts and
    embedding) answers only for a chart that has one."""
    where = " AND ".join(
        f"({f['sqlExpression']})" for f in params.get("adhoc_filters", [])
        if f.get("expressionType") == "SQL" and f.get("clause") == "WHERE"
    )  # fmt: skip
    aggregate = params.get("query_mode") == "aggregate"
    query = {
        "columns": params.get("groupby", []) if aggregate else params.get("all_columns", []),
        "metrics": params.get("metrics", []) if aggregate else [],
        "orderby": [],
        "filters": [],
        "extras": {"where": where} if where else {},
        "row_limit": params.get("row_limit", 1000),
    }
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }


def ensure_chart(client: Client, name: str, dataset_id: int, params: dict, dashboard: int) -> int:
    params = {"viz_type": "table", "datasource": f"{dataset_id}__table", **params}
    body = {
        "slice_name": name,
        "viz_type": params["viz_type"],
        "datasource_id": dataset_id,
        "datasource_type": "table",
        "params": json.dumps(params),
        "query_context": json.dumps(query_context(dataset_id, params)),
        "dashboards": [dashboard],
    }
    found = client.find("chart", "slice_name", name)
    if found:
        client.request("PUT", f"/api/v1/chart/{found['id']}", body)
        return found["id"]
    return client.request("POST", "/api/v1/chart/", body)["id"]


def layout(charts: list[tuple[int, str]]) -> dict:
    """A dashboard's position_json: one full-width row per chart."""
    rows = [f"ROW-{i}" for i in range(len(charts))]
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": rows, "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}},
    }
    for row, (chart_id, name) in zip(rows, charts, strict=True):
        key = f"CHART-{chart_id}"
        position[row] = {"type": "ROW", "id": row, "children": [key],
                         "parents": ["ROOT_ID", "GRID_ID"],
                         "meta": {"background": "BACKGROUND_TRANSPARENT"}}  # fmt: skip
        position[key] = {"type": "CHART", "id": key, "children": [],
                         "parents": ["ROOT_ID", "GRID_ID", row],
                         "meta": {"width": 12, "height": 60, "chartId": chart_id,
                                  "sliceName": name}}  # fmt: skip
    return position


def provision(client: Client, serving: Path) -> dict:
    """The serving database, a dataset per mart, their charts and the dashboard: created, or
    updated when they exist (so a restart is idempotent). Returns their ids."""
    database_id = ensure_database(client, serving)
    datasets = {t: ensure_dataset(client, database_id, t) for t in DATASETS}
    found = client.find("dashboard", "slug", DASHBOARD_SLUG)
    dashboard = found["id"] if found else client.request(
        "POST", "/api/v1/dashboard/",
        {"dashboard_title": DASHBOARD_TITLE, "slug": DASHBOARD_SLUG, "published": True},
    )["id"]  # fmt: skip
    scorecard, wards = datasets["mart_principle_scorecard"], datasets["mart_ward_profile"]
    charts = [
        ("Principle scorecard", scorecard, {
            "query_mode": "raw", "all_columns": dataset_columns(client, scorecard),
            "order_by_cols": [], "row_limit": 1000,
        }),
        # The principles' lines only (the 'system' line is the Marmot approach itself, not
        # indicators compared with England), each year apart: a sum across years would count
        # a series once for every year it was scored.
        ("Series worse than England, by principle and year", scorecard, {
            "query_mode": "aggregate", "groupby": ["principle_name", "period_year"],
            "metrics": [{"expressionType": "SQL", "label": "worse than England",
                         "sqlExpression": "SUM(worse_than_england)"}],
            "adhoc_filters": [{"expressionType": "SQL", "clause": "WHERE",
                               "sqlExpression": "scorecard_line = 'indicators'"}],
            "row_limit": 1000,
        }),
        ("Ward profiles", wards, {
            "query_mode": "raw", "all_columns": dataset_columns(client, wards),
            "order_by_cols": [], "row_limit": 1000,
        }),
    ]  # fmt: skip
    chart_ids = [(ensure_chart(client, n, d, p, dashboard), n) for n, d, p in charts]
    for name in RETIRED_CHARTS:  # a chart an earlier version made, whose figures were wrong
        if old := client.find("chart", "slice_name", name):
            client.request("DELETE", f"/api/v1/chart/{old['id']}")
    client.request(
        "PUT",
        f"/api/v1/dashboard/{dashboard}",
        {"position_json": json.dumps(layout(chart_ids)), "published": True},
    )
    return {"database": database_id, "datasets": datasets, "dashboard": dashboard,
            "charts": [c for c, _ in chart_ids]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Superset for the Marmot serving warehouse")
    sub = parser.add_subparsers(dest="command", required=True)
    config = sub.add_parser("config", help="write superset_config.py (and the secret key)")
    config.add_argument("home", type=Path)
    prov = sub.add_parser("provision", help="database, datasets, charts, dashboard (REST API)")
    prov.add_argument("--url", required=True)
    prov.add_argument("--serving", type=Path, required=True)
    prov.add_argument("--username", default=os.environ.get("MARMOT_SUPERSET_ADMIN", "admin"))
    args = parser.parse_args(argv)
    if args.command == "config":
        print(write_config(args.home))
        return 0
    password = os.environ.get("MARMOT_SUPERSET_ADMIN_PASSWORD", "admin")
    wait_healthy(args.url)
    ids = provision(Client(args.url, args.username, password), args.serving)
    print(f"Superset: dashboard {args.url}/superset/dashboard/{DASHBOARD_SLUG}/ "
          f"(database {ids['database']}, charts {ids['charts']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
