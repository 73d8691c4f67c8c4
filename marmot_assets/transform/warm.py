"""dbt started ahead: imported and its project parsed while the run does other work.

A dbt step spends ~3 s of one core before dbt runs its first node: the ``dbt`` process
imports dbt (~1.9 s) and parses the project (~1.4 s, even when partial parsing finds
nothing changed). None of it needs the warehouse, so a run that will build dbt models has a
process do it from the run's start (``WarmDbt.start``, from the dbt resource's set-up),
while the sources and partners are ingested. That process then waits.

When the dbt step comes, dagster-dbt starts its ``dbt`` command exactly as always, but the
executable is a small client (``CLIENT``, standard library only, written beside the socket)
that hands its command line, environment, working directory and its standard input, output
and error themselves (file descriptors, over a Unix socket in a 0700 folder, checked to come
from this user) to the waiting process. That process runs the command with dbt's own Python
entry point on the manifest it parsed (``dbtRunner(manifest=...)``, dbt's documented way to
reuse a parse), writing its JSON lines to the very pipe dagster-dbt reads, and sends back
the exit code dbt's command line would have given (0, 1 or 2) for the client to exit with.
dagster-dbt sees one ``dbt`` process like any other: same arguments, output and exit code.

Whatever is not exactly what was parsed for (another project folder or target, dbt's
``--selector``, a parse that failed, a process gone), the client runs the real ``dbt``
itself (``exec``), so the step never depends on the warm process. The process ends when
its run's process ends, when its client goes, and at the run's end (``stop``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

PREFIX = "marmot-dbt-"
SOCKET = "dbt.sock"
CLIENT_FILE = "dbt"
NICENESS = 10
LOG_FILE = "warm-dbt.log"  # the waiting process's own messages (before it hands over)

# The client dagster-dbt runs as `dbt`. Only the standard library, under `python -IS`: it
# starts in ~20 ms. {socket}, {dbt} and {server} are filled in by WarmDbt.start.
CLIENT = """\
import json, os, signal, socket, struct, sys, time

SOCKET, DBT, SERVER = {socket!r}, {dbt!r}, {server!r}


def real_dbt():
    os.execv(DBT, [DBT, *sys.argv[1:]])


def connected():
    for _ in range(200):  # the process may not be listening yet (~0.1 s after its start)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(SOCKET)
            return conn
        except OSError:
            conn.close()
            try:
                os.kill(SERVER, 0)
            except OSError:
                break
            time.sleep(0.01)
    real_dbt()


try:
    conn = connected()
    conn.settimeout(300)  # dbt imported and the project parsed by then, or dbt starts here
    asked = json.dumps(
        {{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
    ).encode()
    socket.send_fds(conn, [struct.pack("!Q", len(asked))], [0, 1, 2])
    conn.sendall(asked)
    reply = conn.makefile("rb")
    answer = json.loads(reply.readline() or b"{{}}")
except (OSError, ValueError):
    real_dbt()
if "pid" not in answer:
    conn.close()
    real_dbt()
conn.settimeout(None)
for sig in (signal.SIGINT, signal.SIGTERM):  # an interrupted dagster-dbt reaches dbt itself
    signal.signal(sig, lambda number, frame: os.kill(answer["pid"], number))
os.close(0), os.close(1), os.close(2)  # dbt holds them now: the pipe ends when dbt ends
try:
    ended = json.loads(reply.readline() or b"{{}}")
    while reply.read(65536):  # until dbt's process is gone: its files and locks let go
        pass
except (OSError, ValueError):
    ended = {{}}
os._exit(ended.get("exit", 2))
"""


@dataclass
class WarmDbt:
    """The waiting dbt process of one run, as its run's process sees it."""

    process: subprocess.Popen
    folder: Path  # 0700: the socket and the client
    target: Path  # the dbt step's target folder, parsed into

    @property
    def client(self) -> Path:
        return self.folder / CLIENT_FILE

    @classmethod
    def start(cls, dbt: str, project_dir: Path, target: Path) -> WarmDbt:
        sweep()
        folder = Path(tempfile.mkdtemp(prefix=PREFIX))  # short: socket paths are limited
        target.mkdir(parents=True, exist_ok=True)  # to 107 bytes
        with open(target / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(folder / SOCKET), str(project_dir),
                 str(target), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        client = folder / CLIENT_FILE
        client.write_text(
            f"#!{sys.executable} -IS\n"
            + CLIENT.format(socket=str(folder / SOCKET), dbt=dbt, server=process.pid)
        )
        client.chmod(0o700)
        return cls(process, folder, target)

    def stop(self) -> None:
        """End the process if it still waits or runs (a run that ends before or during its
        dbt step); remove the socket's folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def sweep() -> None:
    """Remove the folders of processes gone without removing theirs (killed outright, with
    their run, before their client came): each client names its process."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            client = (folder / CLIENT_FILE).read_text()
            found = re.search(r"^SOCKET, DBT, SERVER = .*, (\d+)$", client, re.M)
            if found is None:
                continue
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # another user's, not ours to judge, or half made: left as it is
            continue


def is_client(path: str) -> bool:
    """Whether ``path`` is a client that WarmDbt.start wrote."""
    p = Path(path)
    return p.name == CLIENT_FILE and p.parent.name.startswith(PREFIX)


# ---- the waiting process -------------------------------------------------------------------


def serve(socket_path: str, project_dir: str, target: str, parent: int) -> int:
    # Listening before anything else: a step that comes before dbt is ready connects and
    # waits for it (what it would have spent starting a dbt of its own), never starts a
    # second dbt beside this one.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(1)
    # Below the run's own steps: this process fills what the cores leave idle while the run
    # ingests (measured: the population step 3.0 -> 2.3 s beside it, the dbt step no slower,
    # since by then nothing else wants both cores).
    os.nice(NICENESS)
    from dbt.cli.main import dbtRunner

    from marmot_assets.transform.project import DBT_QUIET_FLAGS, seed_partial_parse

    seed_partial_parse(Path(target))  # as the dbt step does: the home's last parse state
    os.environ.update(DBT_TARGET_PATH=target, DBT_LOG_PATH=target)
    parsed = dbtRunner().invoke(
        [*DBT_QUIET_FLAGS, "parse", "--project-dir", project_dir, "--profiles-dir",
         project_dir, "--target-path", target, "--quiet"]
    )  # fmt: skip
    manifest = parsed.result if parsed.success else None
    if manifest is None:
        print(f"dbt's parse failed ({parsed.exception}): the step runs dbt itself", flush=True)
    listener.settimeout(1.0)
    folder = Path(socket_path).parent
    while True:
        if os.getppid() != parent:  # the run's process is gone
            shutil.rmtree(folder, ignore_errors=True)
            return 0
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        listener.close()
        # the client is running, and no other will come: its folder is not needed any more
        # (removed here too, so that a run killed before its end leaves none behind)
        shutil.rmtree(folder, ignore_errors=True)
        return _run(conn, manifest, Path(project_dir), Path(target), dbtRunner)


def _run(conn: socket.socket, manifest, project_dir: Path, target: Path, runner) -> int:
    conn.settimeout(None)
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    header, fds, _, _ = socket.recv_fds(conn, 8, 3)
    if uid != os.getuid() or len(header) != 8 or len(fds) != 3:
        return _decline(conn, fds, "not this user's client")
    asked = json.loads(_read(conn, struct.unpack("!Q", header)[0]))
    argv, env, cwd = asked["argv"], asked["env"], asked["cwd"]
    why = _unfit(manifest, argv, env, cwd, project_dir, target)
    if why:
        return _decline(conn, fds, why)
    print(f"dbt runs here: {' '.join(argv)}", flush=True)  # (to the log, before it is handed over)
    for number, fd in enumerate(fds):  # the client's standard streams become ours
        os.dup2(fd, number)
        os.close(fd)
    sys.stdout.reconfigure(line_buffering=True)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    # the client gone (killed with its run): so is this dbt, as a dbt of its own would be
    done = threading.Event()
    threading.Thread(target=_end_with, args=(conn, done), daemon=True).start()
    try:
        result = runner(manifest=manifest).invoke(argv)
        code = 0 if result.success else 1 if result.exception is None else 2
    except BaseException:  # dbt's own handling let something through: dbt's code for it
        code = 2
    _release_warehouse()
    sys.stdout.flush()
    sys.stderr.flush()
    done.set()
    conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
    # Ended at once, the warehouse closed above: the client waits for this process to be
    # gone (its end of the socket closed by the kernel), as dagster-dbt waits for a dbt's.
    os._exit(code)


def _release_warehouse() -> None:
    """dbt-duckdb keeps its DuckDB database open after the command, until its process ends:
    closed (and so checkpointed) here, so the warehouse is free for the next step the moment
    the client ends. Should dbt-duckdb keep it elsewhere one day, the process's end below
    frees the file all the same (the log of its commits is replayed by the next opener)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager.close_all_connections()
        if env is not None:
            env.close()
    except Exception as exc:  # noqa: BLE001 (the process's end frees the file anyway)
        print(f"dbt's warehouse left to the process's end: {exc}", file=sys.__stderr__)


def _unfit(manifest, argv, env, cwd, project_dir: Path, target: Path) -> str | None:
    """Why this command cannot run on the parsed manifest, or None."""
    if manifest is None:
        return "no parse"
    if Path(cwd).resolve() != project_dir.resolve():
        return f"another project folder ({cwd})"
    if Path(env.get("DBT_TARGET_PATH", "")).resolve() != target.resolve():
        return "another target"
    if any(a == "--selector" or a.startswith("--selector=") for a in argv):
        return "a selector (read from the project's files, not from this parse)"
    if not {"build", "run", "test", "seed", "snapshot"} & set(argv):
        return "not a command that builds"
    return None


def _decline(conn: socket.socket, fds: list[int], why: str) -> int:
    print(f"the step runs dbt itself: {why}", flush=True)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"declined": why}).encode() + b"\n")
    return 0


def _read(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError("the client went before it had asked")
        data += chunk
    return bytes(data)


def _end_with(conn: socket.socket, done: threading.Event) -> None:
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    if not done.is_set():
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
