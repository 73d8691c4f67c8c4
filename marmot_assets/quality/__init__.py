"""Quality gates: great-expectations suites run inside blocking Dagster asset checks."""
