"""Source connectors: read each publisher's real format into typed tables for ``raw``."""
