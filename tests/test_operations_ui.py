"""Operations as a data engineer meets them: `marmot dev` (the real dagster-webserver and
dagster-daemon on 127.0.0.1, a temporary instance), driven through the UI's GraphQL API.

In order, on one instance: a full materialisation launched as the UI's button does succeeds and
publishes; the asset graph renders in headless Chromium with its groups (a screenshot is kept
under $MARMOT_HOME); a file dropped in a partner's folder starts that partner's asset alone and
automation alone (no manual launch) refreshes exactly what depends on it and publishes a new
release; the same file dropped again launches nothing; a bad file fails the partner's check with
the reason while the rest still publishes and the partner's served values stay; no secret of
the environment reaches the event log or any log; a read-only webserver on the same instance
shows everything and refuses to launch or toggle; SIGTERM ends every process within 10 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests
from dagster._core.storage.tags import AUTOMATION_CONDITION_TAG
from helpers import free_port

from marmot_assets.publish.releases import served_release_id

PROJECT = Path(__file__).resolve().parents[1]
MARMOT = str(Path(sys.prefix) / "bin" / "marmot")
SENSOR = "council_housing__temporary_accommodation__inbox"
TIMEOUT_S = 480
LOCATION = {
    "repositoryLocationName": "marmot_assets.definitions",
    "repositoryName": "__repository__",
}
WEBHOOK_TOKEN = "hook-token-3c1e0a9f7d"
PSEUDONYMISATION_KEY = "k" * 20 + "secret-key-5b7f2e"
GROUPS = {"council_housing", "dwp_nomis", "police", "ohid_fingertips", "staging", "intermediate",
          "marts", "publish", "publication", "reference", "history"}  # fmt: skip


def _processes_of(home: Path) -> list[int]:
    """Processes whose environment names this MARMOT_HOME: everything `marmot dev` started."""
    needle = f"MARMOT_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class UI:
    def __init__(self, home: Path, port: int, log: Path, proc: subprocess.Popen):
        self.home, self.dagster_home, self.log, self.proc = home, home / "dagster", log, proc
        self.url = f"http://127.0.0.1:{port}"

    def gql(self, query: str, **variables) -> dict:
        body = {"query": query, "variables": variables}
        reply = requests.post(f"{self.url}/graphql", json=body, timeout=60)
        reply.raise_for_status()
        body = reply.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def sensors(self) -> list[dict]:
        data = self.gql(
            """query($selector: RepositorySelector!) { sensorsOrError(repositorySelector: $selector)
               { ... on Sensors { results { name jobOriginId
                 sensorState { selectorId status } } } } }""",
            selector=LOCATION,
        )
        return data["sensorsOrError"]["results"]

    def stop_sensor(self, sensor: dict) -> str | None:
        """Stop a sensor as the UI's toggle does; the server's error text if it refused.

        On a new instance a default-running sensor has no stored state until the daemon's
        first tick stores one; a stop in that instant stores one too, and the loser of that
        race gets dagster's "already present in storage" error as HTTP 500 (the engineer
        clicks again)."""
        try:
            self.gql(
                """mutation($origin: String!, $selector: String!) {
                   stopSensor(jobOriginId: $origin, jobSelectorId: $selector) { __typename } }""",
                origin=sensor["jobOriginId"],
                selector=sensor["sensorState"]["selectorId"],
            )
        except requests.HTTPError as exc:
            if exc.response.status_code != 500:
                raise
            return exc.response.text[:2000]
        return None

    def start_sensor(self, name: str) -> None:
        data = self.gql(
            """mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector)
               { __typename ... on PythonError { message } } }""",
            selector={**LOCATION, "sensorName": name},
        )
        assert data["startSensor"]["__typename"] == "Sensor", data


RAW = dg.AssetKey(["raw", "council_housing__temporary_accommodation"])
RELEASE = dg.AssetKey(["publication", "release"])
# A whole quarter, every ward of the place: publication audits that no ward is missing.
WARDS = [f"E0500{code}" for code in range(1218, 1236)]
HEADER = "Ward code,Quarter,Households in TA,Households with children\n"


def _wait(what: str, found, log: Path, timeout: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := found()) is not None:
            return value
        time.sleep(2)
    raise AssertionError(f"{what}: not within {timeout:.0f}s\n{log.read_text()[-3000:]}")


def _finished(instance, tags: dict, after: set[str]):
    def find():
        runs = [r for r in instance.get_runs(filters=dg.RunsFilter(tags=tags))
                if r.run_id not in after]  # fmt: skip
        done = [r for r in runs if r.status in (dg.DagsterRunStatus.SUCCESS,
                                                dg.DagsterRunStatus.FAILURE)]  # fmt: skip
        return done[0] if runs and len(done) == len(runs) else None

    return find


def _run_ids(instance) -> set[str]:
    return {r.run_id for r in instance.get_runs()}


def _sensor_skips(instance) -> list[str]:
    state = next(s for s in instance.all_instigator_state() if s.instigator_name == SENSOR)
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
    return [t.skip_reason or "" for t in ticks]


def _served_housing(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "serving" / "marmot.duckdb"), read_only=True) as con:
        return con.execute(
            "select area_code, period, value from fct_indicator_values "
            "where indicator_id = 'temporary_accommodation_rate' order by all"
        ).fetchall()


def _deliver(instance, inbox: Path, name: str, text: str, log: Path):
    """Drop a file; wait for its sensor run and the automation run that follows it."""
    before = _run_ids(instance)
    (inbox / name).write_text(text)
    sensor_run = _wait(
        f"a run of {SENSOR}", _finished(instance, {"dagster/sensor_name": SENSOR}, before), log
    )
    assert sensor_run.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    assert set(sensor_run.asset_selection) == {RAW}  # the partner's asset alone
    followed = _wait(
        "the automation run after the delivery",
        _finished(instance, {AUTOMATION_CONDITION_TAG: "true"}, before),
        log,
    )
    assert followed.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    return sensor_run, followed


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    root = tmp_path_factory.mktemp("operations")
    home = root / "marmot"
    env = {**os.environ, "MARMOT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "MARMOT_AUTOMATION_INTERVAL_SECONDS": "5",
           "MARMOT_ALERT_WEBHOOK_URL": f"http://127.0.0.1:9/hook/{WEBHOOK_TOKEN}",
           "MARMOT_PSEUDONYMISATION_KEY": PSEUDONYMISATION_KEY}  # fmt: skip
    for variable in ("MARMOT_SOURCE_MODE", "MARMOT_SOURCE_DIR"):
        env.pop(variable, None)
    done = subprocess.run([MARMOT, "demo"], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # The demo's deliveries wait outside the drop folders until the first test has stopped
    # their sensors (which run by default and tick as soon as the daemon starts).
    (home / "inbox").rename(root / "held-inbox")
    port, log = free_port(), root / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen([MARMOT, "dev", "--port", str(port)], cwd=PROJECT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    ui = UI(home, port, log, proc)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if requests.get(f"{ui.url}/server_info", timeout=5).ok and ui.sensors():
                    break
            except (requests.ConnectionError, AssertionError, KeyError):
                pass
            time.sleep(1)
        yield ui
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_of(home):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_the_ui_button_materialises_everything_and_publishes(ui):
    # The drop folders' sensors are switched off (as an engineer can in the UI) so that the
    # demo's deliveries are taken by this run alone; one is switched on again below.
    # A sensor's evaluation in flight when it is stopped can write its state back as
    # running: stop until they stay stopped for longer than an evaluation takes.
    deadline, quiet_since, refused = time.monotonic() + 120, None, []
    while quiet_since is None or time.monotonic() - quiet_since < 8:
        assert time.monotonic() < deadline, f"inbox sensors do not stay stopped: {refused}"
        inbox_running = [s for s in ui.sensors() if s["name"].endswith("__inbox")
                         and s["sensorState"]["status"] == "RUNNING"]  # fmt: skip
        for sensor in inbox_running:
            if error := ui.stop_sensor(sensor):
                refused.append(error)  # still running: stopped again on the next round
        quiet_since = None if inbox_running else (quiet_since or time.monotonic())
        time.sleep(2)
    running = {s["name"] for s in ui.sensors() if s["sensorState"]["status"] == "RUNNING"}
    assert "marmot_automation" in running and not any(n.endswith("__inbox") for n in running)
    with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
        assert not instance.get_runs()  # nothing started before the demo's files were dropped
    (ui.home.parent / "held-inbox").rename(ui.home / "inbox")
    launched = ui.gql(
        """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
           __typename ... on LaunchRunSuccess { run { runId } }
           ... on PythonError { message } } }""",
        params={"selector": {**LOCATION, "jobName": "marmot_refresh"}, "runConfigData": {}},
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished():
        query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
        status = ui.gql(query, id=run_id)["runOrError"]["status"]
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    status = _wait("the launched run", finished, ui.log, timeout=600)
    assert status == "SUCCESS", ui.log.read_text()[-3000:]
    assert served_release_id(ui.home) is not None
    with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
        release = instance.get_latest_materialization_event(RELEASE)
        assert release.run_id == run_id
    groups = {n["groupName"] for n in ui.gql("{ assetNodes { groupName } }")["assetNodes"]}
    assert groups >= GROUPS


def test_the_asset_graph_renders_in_chromium(ui):
    shot = ui.home / "ui-asset-graph.png"
    chromium = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--window-size=1600,1000", "--virtual-time-budget=20000"]  # fmt: skip
    url = f"{ui.url}/asset-groups"
    subprocess.run([*chromium, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    dom = subprocess.run([*chromium, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120).stdout  # fmt: skip
    missing = {g for g in GROUPS if f">{g}<" not in dom}
    assert not missing, f"groups not drawn: {missing}"


def test_dropped_files_start_their_asset_and_automation_the_rest(ui):
    home, dagster_home, log = ui.home, ui.dagster_home, ui.log
    ui.start_sensor(SENSOR)
    inbox = home / "inbox" / "council_housing" / "temporary_accommodation"
    inbox.mkdir(parents=True, exist_ok=True)
    first_release = served_release_id(home)
    good = HEADER + "".join(
        f"{ward},2025-26 Q1,{40 + i},{20 + i}\n" for i, ward in enumerate(WARDS)
    )
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        sensor_run, followed = _deliver(instance, inbox, "ta_2025-26_Q1.csv", good, log)
        event = instance.get_latest_materialization_event(RAW)
        assert event.run_id == sensor_run.run_id
        selected = set(followed.asset_selection)
        assert dg.AssetKey(["staging", "stg_council_housing__temporary_accommodation"]) in selected
        assert {RELEASE, dg.AssetKey(["publication", "report"])} <= selected
        assert not any(k.path[0] in ("raw", "reference") for k in selected)
        untouched = instance.get_latest_materialization_event(
            dg.AssetKey(["raw", "fingertips_indicator_values"])
        )
        assert untouched.run_id not in (sensor_run.run_id, followed.run_id)
        assert instance.get_latest_materialization_event(RELEASE).run_id == followed.run_id
        second_release = served_release_id(home)
        assert second_release != first_release
        assert not any(inbox.iterdir())  # picked up, landed, removed from the drop folder
        assert len(list((home / "landing").rglob("*ta_2025-26_Q1.csv"))) == 1
        served = _served_housing(home)
        assert any("Q1" in str(period) and "2025" in str(period) for _, period, _ in served)

        # The same bytes again: the sensor says so and launches nothing.
        before = _run_ids(instance)
        (inbox / "ta_2025-26_Q1.csv").write_text(good)
        _wait("the sensor's skip of a file already received",
              lambda: next((s for s in _sensor_skips(instance) if "already received" in s),
                           None), log)  # fmt: skip
        assert _run_ids(instance) == before

        # A bad file (a ward of another place, a count that is not a number) in the same drop
        # as a good one for the next quarter: each file is judged on its own. The bad one is
        # rejected and the partner's check fails with the reason; the good one flows on and
        # publishes; the values already served stay as they were.
        (inbox / "ta_2025-26_Q1.csv").unlink()
        bad = HEADER + "".join(f"E05099999,2025-26 Q1,x{i},y\n" for i in range(len(WARDS)))
        (inbox / "ta_2025-26_Q1_v2.csv").write_text(bad)
        next_quarter = HEADER + "".join(
            f"{ward},2025-26 Q2,{60 + i},{30 + i}\n" for i, ward in enumerate(WARDS)
        )
        sensor_run, followed = _deliver(instance, inbox, "ta_2025-26_Q2.csv", next_quarter, log)
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(RAW, "every_file_accepted")]
        )[dg.AssetCheckKey(RAW, "every_file_accepted")]
        evaluation = check.event.dagster_event.event_specific_data
        assert check.run_id == sensor_run.run_id and evaluation.passed is False
        assert "ta_2025-26_Q1_v2.csv" in evaluation.metadata["rejected"].value
        assert "ta_2025-26_Q2.csv" not in evaluation.metadata["rejected"].value
        assert instance.get_latest_materialization_event(RELEASE).run_id == followed.run_id
        assert served_release_id(home) not in (first_release, second_release)
        now_served = _served_housing(home)
        added = [row for row in now_served if row not in served]
        assert set(served) <= set(now_served)  # Q1 as it was: nothing of the bad file
        assert added and all("Q2" in str(period) for _, period, _ in added)


def test_no_secret_reaches_the_event_log_or_any_log(ui):
    """The webhook token and the pseudonymisation key are in the environment of every process;
    none of them is in the instance's event log, run logs, compute logs or any file written."""
    with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                text = repr(entry)
                assert WEBHOOK_TOKEN not in text and PSEUDONYMISATION_KEY not in text
    for path in [ui.log, *ui.home.rglob("*")]:
        if path.is_file() and path.stat().st_size < 200 * 2**20:
            data = path.read_bytes()
            assert WEBHOOK_TOKEN.encode() not in data, path
            assert PSEUDONYMISATION_KEY.encode() not in data, path


def test_a_read_only_webserver_shows_but_cannot_launch_or_toggle(ui):
    """The viewers' webserver the README describes (`dagster-webserver --read-only`), on the
    same instance: it shows the assets and the runs, and refuses to launch a run or stop a
    sensor (Dagster's UnauthorizedError), so nothing changes."""
    port = free_port()
    env = {**os.environ, "MARMOT_HOME": str(ui.home), "DAGSTER_HOME": str(ui.dagster_home)}
    webserver = str(Path(sys.prefix) / "bin" / "dagster-webserver")
    log = ui.home.parent / "read-only.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [webserver, "-w", "workspace.yaml", "--read-only", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    viewer = UI(ui.home, port, log, proc)
    try:

        def serving():
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                return viewer.gql("{ assetNodes { id } }")["assetNodes"] and viewer.sensors()
            except (requests.ConnectionError, requests.HTTPError, AssertionError, KeyError):
                return None

        _wait("the read-only webserver", serving, log, timeout=180)
        with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
            runs = _run_ids(instance)
        assert runs  # the runs of the tests before are there to see
        launched = viewer.gql(
            """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
               __typename } }""",
            params={"selector": {**LOCATION, "jobName": "marmot_refresh"}, "runConfigData": {}},
        )["launchRun"]
        assert launched["__typename"] == "UnauthorizedError", launched
        sensor = next(s for s in viewer.sensors() if s["name"] == "marmot_automation")
        stopped = viewer.gql(
            """mutation($origin: String!, $selector: String!) {
               stopSensor(jobOriginId: $origin, jobSelectorId: $selector) { __typename } }""",
            origin=sensor["jobOriginId"],
            selector=sensor["sensorState"]["selectorId"],
        )["stopSensor"]
        assert stopped["__typename"] == "UnauthorizedError", stopped
        still = next(s for s in ui.sensors() if s["name"] == "marmot_automation")
        assert still["sensorState"]["status"] == "RUNNING"
        with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
            assert _run_ids(instance) == runs
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_sigterm_ends_every_process_within_10_s(ui):
    assert len(_processes_of(ui.home)) >= 3  # marmot dev, dagster dev, webserver, daemon...
    sent = time.monotonic()
    ui.proc.send_signal(signal.SIGTERM)
    while _processes_of(ui.home) and time.monotonic() - sent < 15:
        time.sleep(0.1)
    took = time.monotonic() - sent
    assert not _processes_of(ui.home), f"still alive after {took:.1f} s"
    assert took < 10, f"{took:.1f} s"
    assert ui.proc.wait(timeout=1) == 128 + signal.SIGTERM
