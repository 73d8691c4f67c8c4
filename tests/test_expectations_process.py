"""The great-expectations suites run in a process of their own, started with the run
(quality.expectations.ExpectationsResource): the same outcome as in the step's process, and
the same again when that process is lost."""

from __future__ import annotations

import os
import signal

import dagster as dg
import pandas as pd

from marmot_assets.quality.expectations import ExpectationsResource, validate_built
from marmot_assets.quality.fingertips_checks import fingertips_expectations

ROWS = pd.DataFrame(
    {
        "indicator_id": [90630, 90630, 90630],
        "area_code": ["E08000026", "E92000001", "E08000026"],
        "sex": ["Persons"] * 3,
        "age": ["All ages"] * 3,
        "category_type": [None] * 3,
        "category": [None] * 3,
        "time_period": ["2021/22", "2021/22", "2022/23"],
        "value": [10.0, 12.0, 11.0],
        "lower_ci_95": [9.0, 11.0, 10.0],
        "upper_ci_95": [11.0, 13.0, 12.0],
        "count": [100.0, -5.0, 110.0],  # the second row breaks the suite
        "denominator": [1000.0, 1000.0, 1000.0],
    }
)


def _outcome(resource: ExpectationsResource):
    return resource.validate(ROWS, "fingertips_test", fingertips_expectations, [90630])


def _children(resource: ExpectationsResource) -> list[int]:
    pool = resource._pool
    return [] if pool is None else [p.pid for p in pool._processes.values()]


def test_the_suite_runs_in_its_own_process_with_the_same_outcome():
    here = validate_built(ROWS, "fingertips_test", fingertips_expectations, [90630])
    assert not here.success and here.failing_rows["count"].tolist() == [-5.0]

    resource = ExpectationsResource(suite_modules=[fingertips_expectations.__module__])
    context = dg.build_init_resource_context()
    resource.setup_for_execution(context)
    try:
        outcome = _outcome(resource)
        [child] = _children(resource)  # started, and still there: it ran the suite
        assert child != os.getpid()
        pd.testing.assert_frame_equal(outcome.summary, here.summary)
        pd.testing.assert_frame_equal(outcome.failing_rows, here.failing_rows)

        os.kill(child, signal.SIGKILL)  # lost: the suite runs in this process instead
        again = _outcome(resource)
        assert resource._pool is None
        pd.testing.assert_frame_equal(again.summary, here.summary)
        assert again.success is False
    finally:
        resource.teardown_after_execution(context)


def test_teardown_ends_the_process():
    resource = ExpectationsResource()
    context = dg.build_init_resource_context()
    resource.setup_for_execution(context)
    _outcome(resource)
    [child] = _children(resource)
    resource.teardown_after_execution(context)
    assert resource._pool is None
    try:
        os.kill(child, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "the suites' process outlived the run"


def test_without_its_own_process_the_suite_runs_here():
    resource = ExpectationsResource(in_own_process=False)
    resource.setup_for_execution(dg.build_init_resource_context())
    assert resource._pool is None
    assert _outcome(resource).success is False


def test_a_process_stopped_after_its_suites_leaves_nothing_for_the_resource_tracker():
    """Stopped at the run's end, the process leaves no named semaphore behind (GX's progress
    bars would make one), so the run's end prints no "leaked semaphore" warning."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import dagster as dg
        from tests.test_expectations_process import ROWS, _outcome
        from marmot_assets.quality.expectations import ExpectationsResource
        from marmot_assets.quality.fingertips_checks import fingertips_expectations

        if __name__ == "__main__":
            resource = ExpectationsResource(suite_modules=[fingertips_expectations.__module__])
            context = dg.build_init_resource_context()
            resource.setup_for_execution(context)
            assert not _outcome(resource).success
            assert resource._pool is not None  # the suite ran in the helper
            resource.teardown_after_execution(context)
            print("validated", flush=True)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": root},
    )  # fmt: skip
    assert done.returncode == 0 and "validated" in done.stdout, done.stderr[-3000:]
    assert "leaked semaphore" not in done.stderr, done.stderr[-3000:]


def test_a_suite_started_ahead_is_taken_only_for_the_same_values():
    here = validate_built(ROWS, "fingertips_test", fingertips_expectations, [90630])
    fixed = ROWS.assign(count=[100.0, 5.0, 110.0])  # the table changed after the start
    resource = ExpectationsResource(suite_modules=[fingertips_expectations.__module__])
    resource.setup_for_execution(dg.build_init_resource_context())
    try:
        assert resource.validate_ahead(ROWS, "fingertips_test", fingertips_expectations, [90630])
        [started] = resource._ahead.values()
        outcome = resource.validate(fixed, "fingertips_test", fingertips_expectations, [90630])
        assert outcome.success  # validated again, not the outcome started on the old values
        assert len(resource._ahead) == 1 and not started.cancelled()

        outcome = _outcome(resource)  # the same values: the outcome started ahead is taken
        assert not resource._ahead and started.done()
        pd.testing.assert_frame_equal(outcome.summary, here.summary)
        pd.testing.assert_frame_equal(outcome.failing_rows, here.failing_rows)
    finally:
        resource.teardown_after_execution(None)
    alone = ExpectationsResource(in_own_process=False)  # no process: the check validates
    assert not alone.validate_ahead(ROWS, "fingertips_test", fingertips_expectations, [90630])
