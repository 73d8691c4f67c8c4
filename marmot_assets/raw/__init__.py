"""Dagster source assets: each publisher's data, landed, parsed and written to ``raw``."""
