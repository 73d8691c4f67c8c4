"""Headless Chromium: the report's PDF (and the tests' screenshot).

Chromium is a Debian package (``make browser``); when it is missing or fails, the caller
gets ``None`` and the reason, never an exception: the HTML report stands on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_SECONDS = 120


def binary() -> str | None:
    return os.environ.get("MARMOT_CHROMIUM") or shutil.which("chromium")


def run(page: Path, *args: str) -> tuple[bool, str]:
    """Chromium on ``page`` with ``args``; (succeeded, what went wrong)."""
    exe = binary()
    if exe is None:
        return False, "chromium not found (install it with `make browser`)"
    with tempfile.TemporaryDirectory(prefix="marmot-chromium-") as profile:
        try:
            out = subprocess.run(
                [exe, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
            )
        except (OSError, subprocess.SubprocessError) as error:
            return False, f"chromium failed: {error}"
    if out.returncode != 0:
        return False, f"chromium exited {out.returncode}: {out.stderr.strip()[-500:]}"
    return True, ""


def print_pdf(page: Path, pdf: Path) -> tuple[bool, str]:
    pdf.unlink(missing_ok=True)
    ok, why = run(page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    if ok and not (pdf.is_file() and pdf.stat().st_size):
        return False, "chromium wrote no PDF"
    return ok, why


def screenshot(page: Path, png: Path, size: str = "1200,2000") -> tuple[bool, str]:
    return run(
        page,
        f"--screenshot={png}",
        f"--window-size={size}",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",  # let the page finish loading first
    )
