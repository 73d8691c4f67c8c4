"""`marmot run`'s exit status: a failed check at error severity fails the command; a check that
only warned (tolerated quarantine) does not, and the summary names both kinds."""

from __future__ import annotations

import dagster as dg
import pytest

from marmot_assets.cli import check_evaluations, check_outcomes, exit_status, print_summary


def _run_with(severity: dg.AssetCheckSeverity, instance) -> str:
    @dg.asset(check_specs=[dg.AssetCheckSpec("rows_quarantined", asset="deliveries"),
                           dg.AssetCheckSpec("has_rows", asset="deliveries")])  # fmt: skip
    def deliveries():
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(check_name="rows_quarantined", passed=False, severity=severity),
                dg.AssetCheckResult(check_name="has_rows", passed=True),
            ]
        )

    result = dg.materialize([deliveries], instance=instance)
    assert result.success  # a check's failure is not the run's
    return result.run_id


@pytest.mark.parametrize(
    ("severity", "status", "said"),
    [(dg.AssetCheckSeverity.WARN, 0, "warned"), (dg.AssetCheckSeverity.ERROR, 1, "failed")],
)
def test_only_an_error_check_fails_the_command(severity, status, said, capsys):
    with dg.instance_for_test() as instance:
        run_id = _run_with(severity, instance)
        evaluations = check_evaluations(instance, run_id)
        assert check_outcomes(instance, run_id) == {
            "deliveries:rows_quarantined": False, "deliveries:has_rows": True
        }  # fmt: skip
    assert exit_status(evaluations) == status
    summary = {"warehouse": "w", "principles_covered": 0, "indicators": 0,
               "indicator_values": 0, "areas": {}, "periods": ""}  # fmt: skip
    print_summary(summary, evaluations)
    out = capsys.readouterr().out
    assert f"check {said}: deliveries:rows_quarantined" in out
    assert "has_rows" not in out


ENTRY = """
import atexit, sys
from marmot_assets import cli

atexit.register(lambda: print("exit handlers ran", flush=True))
cli.main = lambda: (print("said before the end"), sys.stderr.write("and on stderr\\n"), 3)[-1]
cli.entry()
print("never here")
"""


def test_the_command_ends_with_main_s_status_its_output_whole_and_its_exit_handlers_run():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", ENTRY], capture_output=True, text=True)
    assert out.returncode == 3
    assert out.stdout.splitlines() == ["said before the end", "exit handlers ran"]
    assert out.stderr == "and on stderr\n"


def test_a_summary_before_any_run_says_so_and_fails(tmp_path, monkeypatch, capsys):
    from marmot_assets.cli import main
    from marmot_assets.config import get_settings

    monkeypatch.setenv("MARMOT_HOME", str(tmp_path / "nothing-yet"))
    get_settings.cache_clear()
    try:
        assert main(["summary"]) == 1
    finally:
        get_settings.cache_clear()
    assert "No warehouse at" in capsys.readouterr().err
