"""Running a great-expectations 1.x suite on a DataFrame and reporting what failed.

dagster-ge needs GX < 1 and pandas < 3, so the suite runs here in an ephemeral GX context
and the check turns GX's result into Dagster metadata: one line per expectation and the
failing rows themselves, so the Dagster UI shows exactly which rows broke which rule.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import PrivateAttr

FAILING_ROWS_SHOWN = 20


@functools.cache
def _context():
    # Import late: GX is heavy and only checks need it. No analytics, no progress bars.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context


@dataclass
class SuiteOutcome:
    success: bool
    summary: pd.DataFrame  # one row per expectation
    failing_rows: pd.DataFrame  # the rows that broke at least one expectation


def validate(frame: pd.DataFrame, suite_name: str, expectations: list) -> SuiteOutcome:
    import great_expectations as gx

    context = _context()
    source = context.data_sources.add_or_update_pandas(f"{suite_name}_source")
    asset = source.add_dataframe_asset(f"{suite_name}_{len(source.assets)}")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    frame = frame.reset_index(drop=True)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="COMPLETE")
    lines, failing = [], set()
    for r in result.results:
        config = r.expectation_config
        indexes = list(r.result.get("unexpected_index_list") or [])
        failing.update(int(i) for i in indexes if isinstance(i, (int, float)))
        lines.append(
            {
                "expectation": config.type,
                "column": config.kwargs.get("column")
                or ",".join(config.kwargs.get("column_list") or [])
                or " ".join(config.kwargs.get(k, "") for k in ("column_A", "column_B")).strip(),
                "success": bool(r.success),
                "unexpected_count": int(r.result.get("unexpected_count") or 0),
            }
        )
    rows = frame.loc[sorted(failing)] if failing else frame.iloc[0:0]
    return SuiteOutcome(bool(result.success), pd.DataFrame(lines), rows)


def validate_built(frame: pd.DataFrame, suite_name: str, build: Callable, *args) -> SuiteOutcome:
    """``validate`` with the expectations ``build(*args)`` makes (in the process it runs in:
    GX's objects are made where they are used)."""
    return validate(frame, suite_name, build(*args))


class ExpectationsResource(dg.ConfigurableResource):
    """Runs great-expectations suites for checks, in a process of its own started with the
    run: GX's first import and context take ~2-3 s of one core, and the Fingertips gate comes
    early in a refresh, when the other core has nothing to do (and the release's audit after
    dbt, whose events the run's process handles meanwhile). The process imports GX while
    the first steps run; the check then hands it the frame and gets the outcome back. When
    the process cannot be had (no processes here, or it was lost) the suite runs in the
    step's own process: the same outcome, only later. ``suite_modules``: the modules whose
    suites it will run, imported with GX."""

    in_own_process: bool = True
    suite_modules: list[str] = []
    _pool: concurrent.futures.ProcessPoolExecutor | None = PrivateAttr(default=None)
    # suites handed over ahead of their check (``validate_ahead``), by what they validate
    _ahead: dict = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from marmot_assets.instance.processes import helper_pool

        helper = helper_pool(_warm, self.suite_modules) if self.in_own_process else None
        if helper is not None:  # else the suites run in the step's process
            self._pool = helper[0]

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for future in self._ahead.values():
            future.cancel()
        self._ahead.clear()
        if self._pool is not None:
            from marmot_assets.instance.processes import stop_pool

            stop_pool(self._pool)  # not waiting on a warm-up a short run had no use for
            self._pool = None

    def validate(
        self, frame: pd.DataFrame, suite_name: str, build: Callable, *args
    ) -> SuiteOutcome:
        """The outcome of the suite ``build(*args)`` (a module-level function) on ``frame``:
        the one handed over ahead for these very values, if one was."""
        future = self._ahead.pop(_suite_key(frame, suite_name, build, args), None)
        if future is not None:
            try:
                return future.result()
            except concurrent.futures.process.BrokenProcessPool:
                self._pool = None
            except Exception:  # run again below, to fail as the suite fails here
                pass
        if self._pool is not None:
            try:
                return self._pool.submit(validate_built, frame, suite_name, build, *args).result()
            except concurrent.futures.process.BrokenProcessPool:
                self._pool = None  # lost (killed, out of memory): from now on, here
        return validate_built(frame, suite_name, build, *args)

    def validate_ahead(self, frame: pd.DataFrame, suite_name: str, build: Callable, *args) -> bool:
        """Start the suite on ``frame`` in the suites' process now, while the run goes on; the
        check then takes the outcome (``validate`` with the same values: the frame's digest
        is compared, so a table changed in between is validated again). True when started;
        False without the process (the check validates then, as ever)."""
        if self._pool is None:
            return False
        key = _suite_key(frame, suite_name, build, args)
        try:
            self._ahead[key] = self._pool.submit(validate_built, frame, suite_name, build, *args)
        except RuntimeError:  # the process is lost or stopped (BrokenProcessPool is one)
            return False
        return True


def _suite_key(frame: pd.DataFrame, suite_name: str, build: Callable, args: tuple) -> tuple:
    """What a suite's outcome depends on: its name, its expectations' builder and arguments,
    and the frame's columns, types and values (each row's pandas hash, index included)."""
    import hashlib

    digest = hashlib.sha256(repr([list(frame.columns), [str(t) for t in frame.dtypes]]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return suite_name, f"{build.__module__}.{build.__qualname__}", repr(args), digest.hexdigest()


def _warm(modules: list[str]) -> None:
    import contextlib
    import importlib
    import threading

    # GX draws progress bars with tqdm (a dependency of GX's), whose first bar makes a
    # multiprocessing lock: a named semaphore, left to Python's resource tracker when this
    # helper is stopped at the run's end ("1 leaked semaphore objects" printed as `marmot run`
    # ended). A thread lock is all one process needs.
    with contextlib.suppress(ImportError):
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
    _context()
    for module in modules:
        importlib.import_module(module)


def at_least(column_a: str, column_b: str):
    """Expect ``column_a >= column_b`` on every row where both are present (a missing limit or
    bound is not a failure: it is checked, if at all, by its own expectation)."""
    import great_expectations as gx

    return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=column_a, column_B=column_b, or_equal=True, ignore_row_if="either_value_is_missing"
    )


def outcome_metadata(outcome: SuiteOutcome) -> dict:
    """The Dagster metadata of a suite's outcome: one line per expectation, then the failing
    rows (the first FAILING_ROWS_SHOWN) and how many there are."""
    import dagster as dg

    failing = outcome.failing_rows
    shown = failing.head(FAILING_ROWS_SHOWN).to_markdown(index=False) if len(failing) else "none"
    return {
        "expectations": dg.MetadataValue.md(outcome.summary.to_markdown(index=False)),
        "failing_row_count": dg.MetadataValue.int(len(failing)),
        "failing_rows": dg.MetadataValue.md(shown),
    }
