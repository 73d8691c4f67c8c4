"""``python -m marmot_assets.demo [--out DIR]``: write the demo partner files and list them."""

from __future__ import annotations

import argparse
from pathlib import Path

from marmot_assets.config import get_settings, read_indicator_catalogue
from marmot_assets.demo.generator import generate_demo_data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m marmot_assets.demo",
        description="Write the seeded demo partner files and list them.",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: the settings' demo_dir)")
    args = parser.parse_args(argv)
    settings = get_settings()
    out = args.out or settings.demo_dir
    for path in generate_demo_data(out, settings.place_config, read_indicator_catalogue()):
        print(path)


if __name__ == "__main__":
    main()
