"""HTTP for publishers' APIs: timeouts always, retries with backoff on 429 and 5xx.

Retries come from urllib3's ``Retry`` (it honours ``Retry-After``) rather than a hand loop.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from marmot_assets.config import get_settings
from marmot_assets.reading.errors import SourceFileError

RETRY_STATUSES = (429, 500, 502, 503, 504)
# (connect, read) seconds: publishers' CSV endpoints can take a while to start streaming.
DEFAULT_TIMEOUT = (10.0, 120.0)


def make_session(retries: int = 5, backoff_factor: float | None = None) -> requests.Session:
    if backoff_factor is None:
        backoff_factor = get_settings().http_backoff
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        backoff_max=60,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "marmot-assets (Marmot city open data platform)"
    return session


def get_bytes(
    session: requests.Session,
    url: str,
    params: dict[str, Any] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> bytes:
    try:
        response = session.get(url, params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceFileError(url, f"request failed after retries: {exc}") from None
    if response.status_code != 200:
        raise SourceFileError(
            response.url, f"HTTP {response.status_code} after retries: {response.text[:200]!r}"
        )
    return response.content


def get_json(
    session: requests.Session, url: str, params: dict[str, Any] | None = None
) -> tuple[Any, bytes]:
    body = get_bytes(session, url, params)
    try:
        return json.loads(body), body
    except ValueError:
        raise SourceFileError(url, "response is not JSON") from None
