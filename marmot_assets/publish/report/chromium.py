"""Headless Chromium: the report's PDF (and the tests' screenshot).

Chromium is a Debian package (``make browser``); when it is missing or fails, the caller
gets ``None`` and the reason, never an exception: the HTML report stands on its own.

``print_pdf`` starts a Chromium for the page and ends it after (~0.9 s of its ~2 s is
Chromium starting and ending). A ``Browser`` is one started ahead, while the run does other
work, that prints when asked: it is driven over its DevTools pipe (``--remote-debugging-pipe``:
file descriptors 3 and 4, no port for anyone else to reach), with three of the protocol's
commands (a page, load it, ``Page.printToPDF``), as the command line's ``--print-to-pdf`` does
inside Chromium. It ends when asked, and by itself when its pipe closes: when the process that
started it is gone, however it went. (Playwright would do the same through a Node process and
170 MB; this needs neither.)
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import uuid
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
    with tempfile.TemporaryDirectory(prefix=PROFILE_PREFIX) as profile:
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


PROFILE_PREFIX = "marmot-chromium-"
# A profile folder is removed with its Chromium; one whose starter was killed outright stays.
# Older than this, no Chromium of ours still uses it (a report prints in seconds).
STALE_PROFILE_SECONDS = 6 * 3600


def sweep_stale_profiles() -> int:
    """Remove the profile folders of ours left in the temporary folder by starters killed
    outright (SIGKILL: their clean-up never ran) once stale; how many were removed."""
    from marmot_assets.parent_watch import remove_stale_folders

    return remove_stale_folders(Path(tempfile.gettempdir()), PROFILE_PREFIX, STALE_PROFILE_SECONDS)


class BrowserError(Exception):
    """The browser started ahead failed or went: the caller prints with ``print_pdf``."""


class Browser:
    """A headless Chromium started now, to print pages later (see the module's doc)."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int, profile):
        self.process = process
        self._out, self._in = to_browser, from_browser
        self._profile = profile
        self._buffer = b""
        self._id = 0

    @classmethod
    def start(cls) -> Browser:
        """Start one (it gets ready on its own; the first command waits for that); raises
        BrowserError when there is no Chromium or it cannot start."""
        exe = binary()
        if exe is None:
            raise BrowserError("chromium not found (install it with `make browser`)")
        sweep_stale_profiles()
        profile = tempfile.TemporaryDirectory(prefix=PROFILE_PREFIX)
        theirs_in, ours_out = os.pipe()  # it reads its commands on its fd 3
        ours_in, theirs_out = os.pipe()  # and writes its answers on its fd 4
        # Given to it as 3 and 4 by the shell that starts it: no code runs in the forked child
        # (this process has threads), and the pipe's ends are moved above 9 first, so they
        # never are 3 or 4 already.
        high = [_fcntl_dup(fd) for fd in (theirs_in, theirs_out)]
        for fd in (theirs_in, theirs_out):
            os.close(fd)
        script = f'exec "$0" "$@" 3<&{high[0]} 4>&{high[1]} {high[0]}<&- {high[1]}>&-'
        try:
            process = subprocess.Popen(
                [
                    "bash",
                    "-c",
                    script,
                    exe,
                    *FLAGS,
                    f"--user-data-dir={profile.name}",
                    "--remote-debugging-pipe",
                    "about:blank",
                ],  # fmt: skip
                pass_fds=high,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as error:
            for fd in (*high, ours_in, ours_out):
                os.close(fd)
            profile.cleanup()
            raise BrowserError(f"chromium failed: {error}") from error
        finally:
            for fd in high:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return cls(process, ours_out, ours_in, profile)

    def alive(self) -> bool:
        return self.process.poll() is None

    def print_pdf(self, page: Path, pdf: Path, timeout: float = TIMEOUT_SECONDS) -> None:
        """``page`` printed to ``pdf`` (whole or absent); raises BrowserError."""
        deadline = time.monotonic() + timeout
        target = self._call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
        target_id = target["targetId"]
        try:
            session = self._call(
                "Target.attachToTarget", {"targetId": target_id, "flatten": True},
                deadline=deadline,
            )["sessionId"]  # fmt: skip
            self._call("Page.enable", session=session, deadline=deadline)
            loaded = self._call(
                "Page.navigate", {"url": page.resolve().as_uri()},
                session=session, deadline=deadline, until="Page.loadEventFired",
            )  # fmt: skip
            if loaded.get("errorText"):
                raise BrowserError(f"chromium could not open the page: {loaded['errorText']}")
            # as --print-to-pdf --no-pdf-header-footer prints: the page's own @page size
            printed = self._call(
                "Page.printToPDF",
                {"preferCSSPageSize": True, "displayHeaderFooter": False},
                session=session,
                deadline=deadline,
            )
        finally:
            with contextlib.suppress(BrowserError):
                self._call("Target.closeTarget", {"targetId": target_id}, deadline=deadline)
        data = base64.b64decode(printed["data"])
        if not data:
            raise BrowserError("chromium wrote no PDF")
        tmp = pdf.with_name(f".{pdf.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, pdf)
        finally:
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """End it (asked first, then killed) and remove its profile."""
        if self.alive():
            with contextlib.suppress(BrowserError, OSError):
                self._send("Browser.close")
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def _send(self, method: str, params: dict | None = None, session: str | None = None):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._out, data) :]
        except OSError as error:
            raise BrowserError(f"chromium is gone: {error}") from error
        return self._id

    def _call(self, method, params=None, *, session=None, deadline, until=None) -> dict:
        """Send a command and wait for its answer (and, with ``until``, that event)."""
        sent = self._send(method, params, session)
        result, waiting = None, until
        while result is None or waiting:
            message = self._receive(deadline)
            if message.get("id") == sent:
                if "error" in message:
                    raise BrowserError(f"chromium: {method}: {message['error']}")
                result = message.get("result", {})
            elif waiting and message.get("method") == until:
                if session is None or message.get("sessionId") == session:
                    waiting = None
        return result

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self._in], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium is gone (exit code {self.process.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)


def _fcntl_dup(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
