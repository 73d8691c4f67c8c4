"""marmot-assets: the Marmot city open data platform (Dagster code location)."""
