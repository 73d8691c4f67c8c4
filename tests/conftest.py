"""Shared fixtures: the real reference files, a place, and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import threading
import urllib.parse
from collections import defaultdict
from pathlib import Path

import pytest

from marmot_assets.config import get_settings, load_place

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The shared reference data lies beside the project (../shared/reference); CI lays it there too.
REFERENCE = Path(
    os.environ.get("MARMOT_REFERENCE_DIR", PROJECT_DIR.parent / "shared" / "reference")
)


@pytest.fixture(scope="session")
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE} (../shared/reference)")
    return REFERENCE


@pytest.fixture(scope="session")
def coventry():
    return load_place("E08000026")


@pytest.fixture
def marmot_home(tmp_path, monkeypatch):
    """A fresh MARMOT_HOME (and DAGSTER_HOME under it) for one test."""
    home = tmp_path / "marmot"
    monkeypatch.setenv("MARMOT_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("MARMOT_SOURCE_DIR", raising=False)
    monkeypatch.delenv("MARMOT_SOURCE_MODE", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


class FixtureServer:
    """A real HTTP server. Routes map a path to a queue of (status, headers, body) replies;
    the last reply of a queue repeats. Every request is recorded with its query."""

    def __init__(self):
        self.routes: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.requests: dict[str, list[dict[str, list[str]]]] = defaultdict(list)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                server.requests[url.path].append(urllib.parse.parse_qs(url.query))
                replies = server.routes.get(url.path)
                if not replies:
                    self.send_error(404)
                    return
                status, headers, body = replies.pop(0) if len(replies) > 1 else replies[0]
                if callable(body):
                    body = body(urllib.parse.parse_qs(url.query))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, *replies) -> None:
        self.routes[path] = list(replies)


@pytest.fixture
def http_server(monkeypatch):
    monkeypatch.setenv("MARMOT_HTTP_BACKOFF", "0.01")
    server = FixtureServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """The demo publisher files (demo/) and partner deliveries (inbox/), written once for the
    whole session. Tests read them; a test that needs to change a file copies it first."""
    from marmot_assets.config import read_indicator_catalogue
    from marmot_assets.demo.generator import generate_demo_data

    root = tmp_path_factory.mktemp("demo")
    generate_demo_data(
        root / "demo", load_place("E08000026"), read_indicator_catalogue(), inbox_dir=root / "inbox"
    )
    return root


@pytest.fixture
def warehouse(demo_root, tmp_path, coventry):
    """(connection, PlaceCodes) of a fresh DuckDB file holding the demo lookup of the place."""
    con, codes = lookup_warehouse(tmp_path / "warehouse.duckdb", demo_root, coventry)
    yield con, codes
    con.close()


def lookup_warehouse(database: Path, demo_root: Path, place):
    """A real DuckDB file holding the place's demo LSOA -> ward lookup, as the door reads it
    to check that area codes belong to the place. Returns (connection, PlaceCodes)."""
    import csv

    import duckdb

    from marmot_assets.demo.generator import LOOKUP_FILE
    from marmot_assets.partners.door import place_codes

    con = duckdb.connect(str(database))
    con.execute(
        "create schema if not exists raw; create table raw.ons_lsoa_ward_lookup "
        "(lsoa_code varchar, lsoa_name varchar, ward_code varchar, ward_name varchar, "
        "lad_code varchar)"
    )
    g = place.geography
    fields = (g.lsoa_field, g.lsoa_name_field, g.ward_field, g.ward_name_field, g.lad_field)
    with (demo_root / "demo" / LOOKUP_FILE).open(newline="", encoding="utf-8") as f:
        rows = [tuple(r[name] for name in fields) for r in csv.DictReader(f)]
    con.executemany("insert into raw.ons_lsoa_ward_lookup values (?, ?, ?, ?, ?)", rows)
    return con, place_codes(con, place.name, place.code, place.lists)


def render_model_sql(path: Path, relations: dict[str, str]) -> str:
    """A dbt staging model's SQL, rendered with the project's staging macros, its source() and
    ref() calls pointing at plain relations (keyed by table or model name), so a test can run
    it on a small DuckDB file without a dbt build."""
    import jinja2

    macros = (PROJECT_DIR / "dbt_project" / "macros" / "latest_delivery.sql").read_text()
    template = jinja2.Environment().from_string(macros + path.read_text())
    return template.render(
        source=lambda _source, table: relations[table], ref=lambda model: relations[model]
    )


class PartnerDoor:
    """A warehouse holding the place's demo LSOA -> ward lookup, and the door in front of it:
    deliver files with ``deliver(contract, path)``, read back with ``rows``, ``quarantine``
    and ``table``."""

    def __init__(self, demo_root: Path, tmp_path: Path, place):
        self.home = tmp_path / "home"
        self.con, self.codes = lookup_warehouse(tmp_path / "warehouse.duckdb", demo_root, place)

    def deliver(self, contract, path: Path):
        from marmot_assets.partners.door import receive

        return receive(path, contract, self.con, self.codes, self.home)

    def rows(self, sql: str, *params) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def quarantine(self, name: str) -> list[tuple]:
        return self.rows(
            "select row_number, column_name, reason, value from raw.quarantine "
            "where original_name = ? order by row_number, column_name",
            name,
        )

    def table(self, contract) -> list[tuple]:
        """The dataset's raw rows (none when nothing was ever loaded)."""
        exists = self.rows(
            "select count(*) from information_schema.tables where table_schema "
            "= 'raw' and table_name = ?",
            contract.table,
        )[0][0]
        if not exists:
            return []
        return self.rows(
            f"select * exclude (_received_at) from raw.{contract.table} "
            "order by _sha256, _row_number"
        )
