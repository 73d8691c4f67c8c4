"""Resilience: API sources retry with backoff, and every failed run is recorded and alerted.

Two layers of retry guard a publisher's or partner's API. Inside a request, urllib3's
``Retry`` (``marmot_assets.sources.http``) absorbs 429s, 5xx and dropped connections within
seconds. Beyond that, ``API_RETRY_POLICY`` reruns the whole Dagster step with exponential
backoff and jitter, for outages that last minutes. Until a step succeeds nothing downstream of
it runs in that run, so the served release stays as it was.

``API_RETRY_POLICY`` takes effect in live mode only: in demo mode the sources read local
files, whose failures a retry cannot cure. Its settings are read from the environment when a
step fails, not at import:

- ``MARMOT_API_RETRIES``: reruns after the first attempt (default 3);
- ``MARMOT_RETRY_DELAY_SECONDS``: the base delay (default 30). Attempt n waits
  ``(2**n - 1) * delay``, plus or minus ``delay`` of jitter: about 30 s, 90 s, then 210 s.

``build_run_failure_sensor`` records each failed run in ``$MARMOT_HOME/alerts/
run_failures.jsonl`` (run, job, failed steps, error class and first line, time; no data
values) and posts a summary to the webhook in ``MARMOT_ALERT_WEBHOOK_URL`` when that is set.
The URL is a secret (its path or query usually holds a token). It is read as a Dagster
``EnvVar`` each time the sensor runs, and only its host is ever logged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import urllib.parse

import dagster as dg

from marmot_assets.config import get_settings

RETRIES_ENV = "MARMOT_API_RETRIES"
DELAY_ENV = "MARMOT_RETRY_DELAY_SECONDS"
WEBHOOK_ENV = "MARMOT_ALERT_WEBHOOK_URL"
DEFAULT_RETRIES, DEFAULT_DELAY = 3, 30.0
WEBHOOK_TIMEOUT = (5.0, 10.0)  # (connect, read) seconds
FAILURE_SENSOR = "marmot_run_failure_alert"
MESSAGE_CHARS = 300


def _env_number(name: str, default: float, kind: type) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__}, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


class ApiRetryPolicy(dg.RetryPolicy):
    """A ``RetryPolicy`` read when a step fails, not when the definitions are built: its
    retries and delay from the environment (a deployment or a test sets them without
    rebuilding anything), and in demo mode no policy at all.

    Dagster asks ``if retry_policy:`` and then reads ``max_retries`` and ``calculate_delay``
    only once a step has raised (dagster/_core/execution/plan/utils.py); in demo mode the
    policy is falsy, so a failing step fails at once, exactly as with no policy. The values
    given at construction are the defaults."""

    def __bool__(self) -> bool:
        return get_settings().source_mode == "live"

    @property
    def max_retries(self) -> int:  # ty: ignore[override]
        return int(_env_number(RETRIES_ENV, super().max_retries, int))

    @property
    def delay(self) -> float:  # ty: ignore[override]
        return _env_number(DELAY_ENV, super().delay or 0.0, float)


# On each asset that fetches over HTTP: partner API sources (contracts with a fetcher) and the
# publishers' live sources.
API_RETRY_POLICY = ApiRetryPolicy(
    max_retries=DEFAULT_RETRIES,
    delay=DEFAULT_DELAY,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


# --- run failures ----------------------------------------------------------------------------
def alerts_file():
    return get_settings().home / "alerts" / "run_failures.jsonl"


def _root_error(error):
    """The user's exception under Dagster's wrappers (step errors, retry requests)."""
    while (
        error is not None
        and error.cause is not None
        and (
            error.cls_name is None
            or error.cls_name.startswith("Dagster")
            or error.cls_name.startswith("RetryRequested")
        )
    ):
        error = error.cause
    return error


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def _no_secrets(text: str) -> str:
    """URLs cut to scheme, host and path (no user, password or query: where tokens live), and
    the webhook URL, should the message quote it, removed."""
    webhook = os.environ.get(WEBHOOK_ENV)
    if webhook:
        text = text.replace(webhook, "<webhook>")

    def cut(match: re.Match) -> str:
        try:
            url = urllib.parse.urlsplit(match.group(0))
            return urllib.parse.urlunsplit((url.scheme, url.hostname or "", url.path, "", ""))
        except ValueError:
            return "<url>"

    return _URL.sub(cut, text)


def _describe(error) -> dict[str, str]:
    root = _root_error(error)
    if root is None:
        return {"error_class": "", "message": ""}
    first = next((line for line in (root.message or "").splitlines() if line.strip()), "")
    first = first.strip()
    # Python's rendering starts "ClassName: ..."; the class is kept in its own field.
    if root.cls_name and first.startswith(f"{root.cls_name}:"):
        first = first[len(root.cls_name) + 1 :].strip()
    return {"error_class": root.cls_name or "", "message": _no_secrets(first)[:MESSAGE_CHARS]}


def failure_record(context: dg.RunFailureSensorContext) -> dict:
    """What is recorded of a failed run: ids, names and the first line of each error."""
    run = context.dagster_run
    steps = [
        {"step": event.step_key, **_describe(event.event_specific_data.error)}
        for event in context.get_step_failure_events()
    ]
    run_error = getattr(context.failure_event.event_specific_data, "error", None)
    first = steps[0] if steps else _describe(run_error)
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "job": run.job_name,
        "failed_steps": [s["step"] for s in steps],
        "error_class": first["error_class"],
        "message": first["message"],
        "steps": steps,
    }


def webhook_host(url: str) -> str:
    """Only this of the webhook's URL is ever logged: its host (and port)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"


class _DropSecret(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot render is not ours to keep
            return False
        return not any(secret in message for secret in self.secrets)


@contextlib.contextmanager
def _unlogged(url: str):
    """urllib3 logs each request's path and query at DEBUG: while the webhook is called, its
    loggers drop any record quoting the webhook's path or query."""
    parts = urllib.parse.urlsplit(url)
    secrets = [s for s in (parts.path if len(parts.path) > 1 else "", parts.query) if s]
    loggers = [logging.getLogger(n) for n in ("urllib3.connectionpool", "urllib3.util.retry")]
    drop = _DropSecret(secrets)
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


def post_alert(url: str, record: dict, log) -> str:
    """POST a short JSON summary of the failure; returns "sent" or "failed". A webhook that
    fails is logged (host, exception class or status), never raised: the record stays."""
    import requests

    steps = ", ".join(record["failed_steps"]) or "the run"
    payload = {
        "text": f"marmot: run {record['run_id']} of {record['job']} failed at {steps}: "
        f"{record['error_class']}: {record['message']}",
        **{k: record[k] for k in ("run_id", "job", "failed_steps", "error_class", "time")},
    }
    host = webhook_host(url)
    try:
        with _unlogged(url):
            response = requests.post(url, json=payload, timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException as exc:  # its message quotes the URL: only the class
        log.warning(f"Run failure alert to {host} failed: {type(exc).__name__}")
        return "failed"
    if not 200 <= response.status_code < 300:
        log.warning(f"Run failure alert to {host} failed: HTTP {response.status_code}")
        return "failed"
    log.info(f"Run failure alert sent to {host}")
    return "sent"


def record_failure(context: dg.RunFailureSensorContext) -> dict:
    """Record the failed run (posting the alert first when a webhook is set); the record."""
    record = failure_record(context)
    url = dg.EnvVar(WEBHOOK_ENV).get_value()
    record["webhook"] = post_alert(url, record, context.log) if url else "not set"
    path = alerts_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    context.log.info(
        f"Run {record['run_id']} of {record['job']} failed "
        f"({', '.join(record['failed_steps']) or 'no step'}): recorded in {path}"
    )
    return record


def build_run_failure_sensor() -> dg.SensorDefinition:
    # monitor_all_code_locations: `marmot run` executes the refresh job outside any workspace,
    # so its runs carry no code-location origin and a sensor watching only "its" location
    # would never see them. This deployment has one code location, so "all" is this one.
    @dg.run_failure_sensor(
        name=FAILURE_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
        monitor_all_code_locations=True,
        minimum_interval_seconds=30,
        description="Every failed run (any job, from the UI, a schedule, a sensor or `marmot "
        "run`) is recorded in $MARMOT_HOME/alerts/run_failures.jsonl: run id, job, failed "
        "steps, the error's class and first line. When MARMOT_ALERT_WEBHOOK_URL is set, a "
        "summary is POSTed to it as JSON; only its host is logged.",
    )
    def marmot_run_failure_alert(context: dg.RunFailureSensorContext):
        run = context.instance.get_run_by_id(context.dagster_run.run_id)
        if run is not None and run.status == dg.DagsterRunStatus.CANCELED:
            # Stopped on purpose (SIGTERM or Ctrl-C) and recorded canceled right after
            # Dagster's "interrupted unexpectedly": no failure to alert on.
            return
        record_failure(context)

    return marmot_run_failure_alert
