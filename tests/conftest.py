"""Shared fixtures: the real reference files, a place, a real HTTP server on 127.0.0.1, the demo
and a door in front of a warehouse holding its lookup. Plain helpers are in helpers.py."""

from __future__ import annotations

import csv
import http.server
import os
import threading
import urllib.parse
from collections import defaultdict
from pathlib import Path

import pytest

from marmot_assets.config import get_settings, load_place

# helpers.py asserts too: let pytest explain its failures as it does the tests' own.
pytest.register_assert_rewrite("helpers")

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
    get_settings.cache_clear()
    server = FixtureServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """The demo publisher files (demo/) and partner deliveries (inbox/), written once for the
    whole session. Tests read them; a test that needs to change a file copies it first."""
    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_again(tmp_path_factory) -> Path:
    """The demo written a second time, as ``demo_root``: same seed, so the same bytes."""
    return write_demo(tmp_path_factory.mktemp("demo_again"))


def write_demo(root: Path) -> Path:
    from marmot_assets.config import read_indicator_catalogue
    from marmot_assets.demo.generator import generate_demo_data

    generate_demo_data(
        root / "demo", load_place("E08000026"), read_indicator_catalogue(), inbox_dir=root / "inbox"
    )
    return root


@pytest.fixture(scope="session")
def ward_deprivation(coventry) -> dict[str, float]:
    """Each of the place's wards' demo deprivation (0 least, 1 most deprived), by ward code."""
    return {w.code: w.deprivation for w in coventry.demo.wards}


@pytest.fixture(scope="session")
def demo_lookup_file(demo_root) -> Path:
    """The demo's ONS LSOA -> ward lookup of the place (a CSV in the publisher's format)."""
    from marmot_assets.demo.publishers.ons import LOOKUP_FILE

    return demo_root / "demo" / LOOKUP_FILE


@pytest.fixture(scope="session")
def demo_lookup(demo_lookup_file) -> list[dict[str, str]]:
    """The rows of the demo lookup, by the publisher's field names."""
    with demo_lookup_file.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def warehouse(demo_lookup, tmp_path, coventry):
    """(connection, PlaceCodes) of a fresh DuckDB file holding the demo lookup of the place,
    as the door reads it to check that area codes belong to the place."""
    import duckdb

    from marmot_assets.partners.door import place_codes

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(
        "create schema if not exists raw; create table raw.ons_lsoa_ward_lookup "
        "(lsoa_code varchar, lsoa_name varchar, ward_code varchar, ward_name varchar, "
        "lad_code varchar)"
    )
    g = coventry.geography
    fields = (g.lsoa_field, g.lsoa_name_field, g.ward_field, g.ward_name_field, g.lad_field)
    rows = [tuple(r[name] for name in fields) for r in demo_lookup]
    con.executemany("insert into raw.ons_lsoa_ward_lookup values (?, ?, ?, ?, ?)", rows)
    yield con, place_codes(con, coventry.name, coventry.code, coventry.lists)
    con.close()


@pytest.fixture
def door(warehouse, tmp_path, request):
    """A helpers.PartnerDoor in front of ``warehouse``, for the test module's CONTRACT when it
    names one (otherwise each delivery names its contract); landing under tmp_path/home."""
    from helpers import PartnerDoor

    con, codes = warehouse
    return PartnerDoor(con, codes, tmp_path / "home", getattr(request.module, "CONTRACT", None))


@pytest.fixture(scope="session")
def demo_refresh(tmp_path_factory) -> dict:
    """One whole refresh of the demo through Dagster (with one more valid partner delivery,
    ``helpers.plant_returners``), shared by the modules that only read what it built and
    copied by those that change it (each whole refresh costs minutes of the suite): home,
    success, run_id and checks. The environment it ran in is restored before any test uses it,
    so a module reads the home by its path only (or copies it: ``helpers.copied_home``)."""
    from helpers import plant_returners, refreshed_home

    with refreshed_home(tmp_path_factory, "demo_refresh", plant_returners) as run:
        return {key: run[key] for key in ("home", "success", "run_id", "checks")}
