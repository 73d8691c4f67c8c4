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
REFERENCE = Path(os.environ.get("MARMOT_REFERENCE_DIR", PROJECT_DIR.parent / "shared" / "reference"))


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
