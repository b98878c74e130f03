"""A private PostgreSQL server for one test, which the test may freeze (SIGSTOP) and thaw.

The shared server on 127.0.0.1:5432 is used by every engineer's tests at once; freezing it
would hang theirs. This one lives in a temporary folder on a port of its own, started by
the test's process (as the ``postgres`` user when the test runs as root, since PostgreSQL
refuses to run as root) and removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

from tests.live import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def available() -> str | None:
    """Return why a private server cannot run here, or None when it can."""
    for name in ("initdb", "postgres", "pg_isready"):
        if _bin(name) is None:
            return f"{name} not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


class PrivatePostgres:
    """A running private server: its URL, and freeze/thaw of every one of its processes."""

    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.port = proc, port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def pids(self) -> list[int]:
        """Return the postmaster and every process it started."""
        pids, todo = [self.proc.pid], [self.proc.pid]
        while todo:
            parent = todo.pop()
            for task in glob(f"/proc/{parent}/task/*/children"):
                with contextlib.suppress(OSError):
                    kids = [int(p) for p in Path(task).read_text().split()]
                    pids += kids
                    todo += kids
        return pids

    def freeze(self) -> None:
        """Stop every server process where it stands (connections stay open, unanswered)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Let every server process carry on."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Create, start and finally remove a private PostgreSQL server."""
    folder = Path(tempfile.mkdtemp(prefix="yjv-pg-"))
    data = folder / "data"
    as_root = os.geteuid() == 0
    user = pwd.getpwnam("postgres") if as_root else None

    def drop_root() -> None:
        if user is not None:
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    subprocess.run(
        [_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
        preexec_fn=drop_root,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            _bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=drop_root,
    )
    server = PrivatePostgres(proc, port)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("the private PostgreSQL server did not start")
        yield server
    finally:
        server.thaw()
        proc.send_signal(signal.SIGQUIT)  # immediate shutdown: nothing here is worth keeping
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
