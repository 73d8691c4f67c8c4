"""The door: how partner files land, are checked against their contract and reach ``raw``."""
