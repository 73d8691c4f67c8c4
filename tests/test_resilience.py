"""API sources retry with backoff; a failed run is recorded and alerted, with no secret leaked.

Real throughout: the Nomis partner asset in live mode against a real HTTP server on 127.0.0.1,
executed by Dagster's in_process_executor (as the code location runs it) on a real instance
under a temporary DAGSTER_HOME, and the run-failure sensor evaluated against that instance.
Retry delays are cut to a fraction of a second with MARMOT_RETRY_DELAY_SECONDS.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading

import dagster as dg
import pytest
from test_partner_dwp_nomis import PATH, demo_rows, nomis_csv

from marmot_assets.config import DBT_PROJECT_DIR, get_settings
from marmot_assets.partners.assets import asset_key, build_partner_asset
from marmot_assets.partners.contract import get_contract
from marmot_assets.resilience import (
    API_RETRY_POLICY,
    DELAY_ENV,
    FAILURE_SENSOR,
    RETRIES_ENV,
    WEBHOOK_ENV,
    alerts_file,
    build_run_failure_sensor,
    record_failure,
)

CONTRACT = get_contract("dwp_nomis/claimant_count")
NOMIS = asset_key(CONTRACT)
LOOKUP = dg.AssetKey(["raw", "ons_lsoa_ward_lookup"])
NOMIS_JOB, LOOKUP_JOB, DOWNSTREAM_JOB = "nomis_only", "lookup_only", "nomis_and_downstream"
TOKEN = "s3cr3t-T0KEN-7f2c9a"  # the webhook's secret, in its path and its query
URLLIB3_TRIES = 6  # make_session(): the first request and 5 retries, within one step attempt


# --- the definitions, rebuilt by reconstructable() in the run ---------------------------------
def small_definitions() -> dg.Definitions:
    from marmot_assets.partners.read_ahead import ReadAheadResource
    from marmot_assets.sources.ons import ons_lsoa_ward_lookup
    from marmot_assets.warehouse import warehouse_resource

    in_process = {"executor_def": dg.in_process_executor}
    return dg.Definitions(
        assets=[ons_lsoa_ward_lookup, build_partner_asset(CONTRACT)],
        jobs=[
            dg.define_asset_job(NOMIS_JOB, selection=[NOMIS], **in_process),
            dg.define_asset_job(LOOKUP_JOB, selection=[LOOKUP], **in_process),
        ],
        sensors=[build_run_failure_sensor()],
        resources={"warehouse": warehouse_resource(), "read_ahead": ReadAheadResource()},
    )


def nomis_job() -> dg.JobDefinition:
    return small_definitions().resolve_job_def(NOMIS_JOB)


def lookup_job() -> dg.JobDefinition:
    return small_definitions().resolve_job_def(LOOKUP_JOB)


def whole_definitions() -> dg.Definitions:
    """The code location's definitions with a job of the Nomis asset and all downstream of it
    (its staging model, the marts, the publication), as the refresh job would run them."""
    from marmot_assets.definitions import build_definitions

    downstream = dg.define_asset_job(
        DOWNSTREAM_JOB,
        selection=dg.AssetSelection.assets(NOMIS).downstream(),
        executor_def=dg.in_process_executor,
    )
    return dg.Definitions.merge(build_definitions(), dg.Definitions(jobs=[downstream]))


def downstream_job() -> dg.JobDefinition:
    return whole_definitions().resolve_job_def(DOWNSTREAM_JOB)


def execute(job_fn, instance) -> dg.ExecuteJobResult:
    return dg.execute_job(dg.reconstructable(job_fn), instance=instance, raise_on_error=False)


def events(instance, run_id: str, kind: dg.DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=kind).records
    return [r.event_log_entry.dagster_event for r in records]


# --- fixtures -----------------------------------------------------------------------------------
class WebhookServer:
    """A real HTTP server taking POSTs: each (path with query, JSON body) is kept."""

    def __init__(self, status: int = 200):
        self.posts: list[tuple[str, dict]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posts.append((self.path, json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/hooks/{TOKEN}?token={TOKEN}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def live(demo_root, marmot_home, http_server, monkeypatch):
    """A Dagster instance on a fresh home whose warehouse holds the demo lookup (materialised
    in demo mode), then switched to live mode with Nomis on the local server and retry delays
    of a fraction of a second. Yields (instance, server)."""
    from marmot_assets.instance import ensure_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(marmot_home / "dagster"))
    monkeypatch.setenv("MARMOT_SOURCE_DIR", str(demo_root / "demo"))
    monkeypatch.setenv("MARMOT_NOMIS_URL", http_server.base_url + PATH)
    monkeypatch.setenv(DELAY_ENV, "0.05")
    monkeypatch.delenv(RETRIES_ENV, raising=False)
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    get_settings.cache_clear()
    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        assert execute(lookup_job, instance).success
        monkeypatch.setenv("MARMOT_SOURCE_MODE", "live")
        get_settings.cache_clear()
        yield instance, http_server


@pytest.fixture
def webhook():
    server = WebhookServer()
    yield server
    server.close()


# --- the policy -------------------------------------------------------------------------------
def test_policy_is_exponential_with_jitter_read_from_the_environment(marmot_home, monkeypatch):
    monkeypatch.delenv(RETRIES_ENV, raising=False)
    monkeypatch.delenv(DELAY_ENV, raising=False)
    monkeypatch.setenv("MARMOT_SOURCE_MODE", "live")
    get_settings.cache_clear()
    assert (API_RETRY_POLICY.max_retries, API_RETRY_POLICY.delay) == (3, 30.0)
    assert API_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert API_RETRY_POLICY.jitter == dg.Jitter.PLUS_MINUS
    assert bool(API_RETRY_POLICY)
    # attempt n waits (2**n - 1) * delay, give or take one delay of jitter
    for attempt, centre in ((1, 30), (2, 90), (3, 210)):
        waits = [API_RETRY_POLICY.calculate_delay(attempt) for _ in range(200)]
        assert all(centre - 30 <= w <= centre + 30 for w in waits)
        assert max(waits) - min(waits) > 10  # jittered
    monkeypatch.setenv(RETRIES_ENV, "5")
    monkeypatch.setenv(DELAY_ENV, "0.5")
    assert (API_RETRY_POLICY.max_retries, API_RETRY_POLICY.delay) == (5, 0.5)
    assert 1.0 <= API_RETRY_POLICY.calculate_delay(2) <= 2.0
    monkeypatch.setenv(DELAY_ENV, "soon")
    with pytest.raises(ValueError, match=DELAY_ENV):
        API_RETRY_POLICY.calculate_delay(1)
    # demo mode reads local files: no policy, a failing step fails at once
    monkeypatch.setenv("MARMOT_SOURCE_MODE", "demo")
    get_settings.cache_clear()
    assert not API_RETRY_POLICY


def test_the_api_sources_carry_the_policy_and_the_others_do_not(marmot_home):
    from marmot_assets.sources.fingertips import fingertips_indicator_values
    from marmot_assets.sources.mhclg import mhclg_imd_lsoa
    from marmot_assets.sources.ons import ons_lsoa11_lsoa21_lookup, ons_lsoa_ward_lookup
    from marmot_assets.sources.place import place_areas
    from marmot_assets.sources.population import ons_population_estimates

    def policy(asset: dg.AssetsDefinition):
        return asset.op.retry_policy

    for fetching in (fingertips_indicator_values, ons_lsoa_ward_lookup,
                     ons_lsoa11_lsoa21_lookup, ons_population_estimates):  # fmt: skip
        assert policy(fetching) is API_RETRY_POLICY
    assert policy(mhclg_imd_lsoa) is None and policy(place_areas) is None
    assert policy(build_partner_asset(CONTRACT)) is API_RETRY_POLICY  # an API partner source
    assert (
        policy(build_partner_asset(get_contract("council_job_shop/clients"))) is None
    )  # drop folder


# --- through Dagster ----------------------------------------------------------------------------
def test_api_source_fails_twice_then_succeeds_on_the_third_attempt(live, demo_root):
    instance, server = live
    rows = demo_rows(demo_root, 6)
    # Two step attempts whose every request (urllib3's retries too) gets a 503, then a good reply.
    server.route(
        PATH,
        *[(503, {}, b"Service Unavailable")] * (2 * URLLIB3_TRIES),
        (200, {}, nomis_csv(rows)),
    )
    result = execute(nomis_job, instance)

    assert result.success
    assert len(server.requests[PATH]) == 2 * URLLIB3_TRIES + 1
    key = NOMIS.to_python_identifier()
    retried = events(instance, result.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert [e.step_key for e in retried] == [key, key]
    assert len(events(instance, result.run_id, dg.DagsterEventType.STEP_RESTARTED)) == 2
    assert events(instance, result.run_id, dg.DagsterEventType.STEP_FAILURE) == []
    materialisations = events(instance, result.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    # the run's own, and one for each month the delivery brought (its partition)
    [materialised] = [e for e in materialisations if e.partition is None]
    months = {e.partition for e in materialisations if e.partition}
    assert months == {row[0] for row in rows}  # DATE, YYYY-MM
    metadata = materialised.event_specific_data.materialization.metadata
    assert materialised.asset_key == NOMIS
    assert metadata["dagster/row_count"].value == 6
    assert metadata["files_loaded"].value == 1
    # the third attempt's wait is no sleep of 30 s: the delay came from the environment
    waits = [e.event_specific_data.seconds_to_wait for e in retried]
    assert all(0 <= w <= 0.25 for w in waits), waits


def test_api_source_that_always_fails_is_recorded_and_alerted_without_its_secret(
    live, webhook, monkeypatch, caplog, capsys
):
    instance, server = live
    monkeypatch.setenv(RETRIES_ENV, "2")
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    server.route(PATH, (503, {}, b"Service Unavailable"))
    defs = small_definitions()
    sensor = defs.resolve_sensor_def(FAILURE_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # The daemon's first tick of a run-status sensor only sets its cursor.
    first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))

    caplog.set_level(logging.DEBUG)
    result = execute(nomis_job, instance)

    assert not result.success
    assert len(server.requests[PATH]) == 3 * URLLIB3_TRIES  # three step attempts, then no more
    key = NOMIS.to_python_identifier()
    assert len(events(instance, result.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)) == 2
    assert [e.step_key for e in events(instance, result.run_id, dg.DagsterEventType.STEP_FAILURE)] \
        == [key]  # fmt: skip
    assert events(instance, result.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION) == []

    tick = sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, definitions=defs, cursor=first.cursor)
    )
    assert tick.run_requests == [] and tick.cursor != first.cursor
    [record] = [json.loads(line) for line in alerts_file().read_text().splitlines()]
    assert record["run_id"] == result.run_id and record["job"] == NOMIS_JOB
    assert record["failed_steps"] == [key]
    assert record["error_class"] == "SourceFileError"
    assert "HTTP 503 after retries" in record["message"]
    assert "?" not in record["message"]  # the request's query is cut from any URL
    assert record["webhook"] == "sent"
    [(path, body)] = webhook.posts
    assert path == f"/hooks/{TOKEN}?token={TOKEN}"  # the secret URL was used, as given
    assert body["run_id"] == result.run_id and body["failed_steps"] == [key]
    assert body["error_class"] == "SourceFileError" and result.run_id in body["text"]

    # A webhook that is down: logged by its host, recorded as failed, nothing raised.
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:9/hooks/{TOKEN}?token={TOKEN}")
    run = instance.get_run_by_id(result.run_id)
    failure = events(instance, result.run_id, dg.DagsterEventType.RUN_FAILURE)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR, dagster_event=failure, dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()  # fmt: skip
    assert record_failure(context)["webhook"] == "failed"
    output = capsys.readouterr()
    logged = caplog.text + output.out + output.err
    assert "Run failure alert to 127.0.0.1:9 failed: ConnectionError" in logged

    # The token is nowhere: not in any event of any run, nor in any file of the home (the
    # instance's databases, the compute logs, the alerts, the warehouse), nor in the logs.
    for run_record in instance.get_run_records():
        for entry in instance.all_logs(run_record.dagster_run.run_id):
            assert TOKEN not in dg.serialize_value(entry)
    files = [p for p in get_settings().home.rglob("*") if p.is_file()]
    assert alerts_file() in files and any(p.suffix == ".db" for p in files)
    assert any("compute_logs" in p.parts or "storage" in p.parts for p in files)
    assert [p for p in files if TOKEN.encode() in p.read_bytes()] == []
    output = capsys.readouterr()
    assert TOKEN not in logged + caplog.text + output.out + output.err
    assert len(alerts_file().read_text().splitlines()) == 2


def test_a_failed_api_source_publishes_nothing_downstream(live):
    """The Nomis asset and everything downstream of it in one run, as in a refresh: when the
    fetch keeps failing (after its retries), Dagster never starts its staging model, the marts
    or the publication, so no release is staged or served and whatever was served stays."""
    instance, server = live
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").is_file():
        from marmot_assets.transform.project import prepare_manifest

        prepare_manifest()
    server.route(PATH, (503, {}, b"Service Unavailable"))
    serving = get_settings().home / "serving"
    before = sorted(serving.rglob("*")) if serving.exists() else []
    job = downstream_job()
    downstream = set(job.asset_layer.selected_asset_keys) - {NOMIS}
    assert dg.AssetKey(["publication", "release"]) in downstream
    assert any(key.path[0] == "staging" or "stg" in key.path[-1] for key in downstream)

    result = execute(downstream_job, instance)

    assert not result.success
    failed = events(instance, result.run_id, dg.DagsterEventType.STEP_FAILURE)
    assert [e.step_key for e in failed] == [NOMIS.to_python_identifier()]
    # The run planned the staging model, the marts and the release, and ran none of them.
    planned = events(instance, result.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    assert {e.asset_key for e in planned} == downstream | {NOMIS}
    assert {e.step_key for e in planned} > {NOMIS.to_python_identifier(), "publication__release"}
    started = events(instance, result.run_id, dg.DagsterEventType.STEP_START)
    assert {e.step_key for e in started} == {NOMIS.to_python_identifier()}
    assert events(instance, result.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION) == []
    assert (sorted(serving.rglob("*")) if serving.exists() else []) == before
