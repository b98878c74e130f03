"""Real server processes for tests: `yjvoice serve`, plain gunicorn, nginx, and a browser-like
client that walks the form over HTTP (cookies, hidden fields) as the Flask client does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """Return the environment a server process of the app runs with in tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "RATELIMIT_"))}
    env.update(
        DATABASE_URL=db_url,
        SECRET_KEY=TEST_SECRET,
        YJVOICE_INSTANCE=str(instance),
        PYTHONPATH=str(ROOT),
        PUBLIC_BASE_URL="http://testserver",
    )
    env.update(extra)
    return env


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until something answers HTTP on the port (any status), or fail."""
    deadline = time.monotonic() + timeout
    # One client for every try: each new httpx client loads the CA bundle into an SSL
    # context (about 20 ms of CPU), and a server start took 10-20 tries.
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                http.get(f"http://127.0.0.1:{port}/")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server gracefully, then for sure."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def yjvoice_serve(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Run `yjvoice serve` (the production server) and yield its base URL."""
    port = port or free_port()
    proc = subprocess.Popen(
        [str(BIN / "yjvoice"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@contextmanager
def plain_gunicorn(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Run gunicorn's stock threaded worker on the app, as production did before."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "web:create_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_until_up(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


class _Response:
    """An httpx response, read the way tests read the Flask client's."""

    def __init__(self, r: httpx.Response):
        self.status_code = r.status_code
        self.headers = r.headers
        self._text = r.text

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self._text if as_text else self._text.encode()


class LiveClient:
    """A browser on a live server: keeps cookies, sends forms, never follows redirects."""

    def __init__(self, base: str, *, address: str | None = None):
        headers = {"X-Forwarded-For": address} if address else {}
        self.http = httpx.Client(base_url=base, follow_redirects=False, headers=headers)

    def get(self, path: str) -> _Response:
        return _Response(self.http.get(path))

    def post(self, path: str, data: dict | None = None, headers: dict | None = None) -> _Response:
        return _Response(self.http.post(path, data=data, headers=headers))

    def close(self) -> None:
        self.http.close()


def from_address(base: str, address: str) -> httpx.Client:
    """Return a client whose connections come from this loopback address (127.0.0.2, ...)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, follow_redirects=False)


def raw_request(
    port: int, data: bytes, *, half_close: bool = True, wait: float = 10, until: bytes = b""
) -> bytes:
    """Send raw bytes to 127.0.0.1:port, stop sending, and return whatever comes back (all of
    it, or up to the first ``until`` when one is given)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
                if until and until in b"".join(chunks):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


NGINX = "/usr/sbin/nginx"


@contextmanager
def nginx_in_front(upstream_port: int, workdir: Path) -> Iterator[str]:
    """Run Debian's nginx with the repository's proxy config in front of 127.0.0.1:port.

    The files are deploy/nginx/ as docker compose mounts them; only the upstream (the
    `web` service there) and the listening address change to this machine's.
    """
    deploy = ROOT / "deploy" / "nginx"
    port = free_port()
    (workdir / "conf.d").mkdir(parents=True)
    (workdir / "snippets").mkdir()
    site = (deploy / "conf.d" / "yjvoice.conf").read_text(encoding="utf-8")
    site = site.replace("server web:8000;", f"server 127.0.0.1:{upstream_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    (workdir / "conf.d" / "yjvoice.conf").write_text(site, encoding="utf-8")
    for snippet in (deploy / "snippets").iterdir():
        (workdir / "snippets" / snippet.name).write_text(snippet.read_text(encoding="utf-8"))
    temp = "".join(
        f"{kind}_temp_path {workdir}/{kind};\n" for kind in ("proxy", "fastcgi", "uwsgi", "scgi")
    )
    (workdir / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {workdir}/nginx.pid;\n"
        f"error_log {workdir}/error.log warn;\nevents {{ worker_connections 512; }}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {workdir}/body;\n{temp}"
        f"include {workdir}/conf.d/*.conf;\n}}\n",
        encoding="utf-8",
    )
    check = subprocess.run(
        [NGINX, "-t", "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf")])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
