"""Seeded demo data in the real publishers' file formats (see ``generator``)."""

from marmot_assets.demo.generator import generate_demo_data

__all__ = ["generate_demo_data"]
