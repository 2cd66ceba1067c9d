"""Several ``studymate bot`` replicas in webhook mode behind nginx, for tests and benchmarks.

nginx runs unprivileged on loopback with a configuration written to a scratch directory; its
webhook ``location`` is taken verbatim from ``packaging/nginx-studymate.conf``, so what is
tested is what the README tells an admin to deploy. Replicas are ``python -m studymate bot``
processes; each serves the webhook (and /metrics, /healthz) on its own ``STUDYMATE_HTTP_PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import aiohttp

WEBHOOK_PATH: Final = "/telegram/webhook"
WEBHOOK_SECRET: Final = "replica-test-secret_0123456789"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
EXAMPLE_CONFIG: Final = Path(__file__).resolve().parents[2] / "packaging" / "nginx-studymate.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_nginx(*, install: bool) -> str | None:
    """The nginx binary; with ``install`` (and root) the Debian package is installed first."""
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if found or not install or os.geteuid() != 0:
        return found or None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"]
    if subprocess.run(command, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(command, env=env, capture_output=True, timeout=600)
    return shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx") or None


def example_location(path: Path = EXAMPLE_CONFIG) -> str:
    """The ``location = /telegram/webhook { ... }`` block of the example configuration."""
    text = path.read_text()
    start = text.index(f"location = {WEBHOOK_PATH} {{")
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    raise ValueError(f"unbalanced braces in {path}")


class Nginx:
    """nginx -p DIR -c DIR/nginx.conf -g 'daemon off;' as an unprivileged process."""

    def __init__(self, binary: str, workdir: Path, port: int, upstream_ports: list[int]) -> None:
        self.binary = binary
        self.port = port
        self.upstream_ports = upstream_ports
        self.proc: asyncio.subprocess.Process | None = None
        self._own_dir = os.geteuid() == 0
        if self._own_dir:
            # Run as nobody: the directory must be reachable by it (test dirs are 0700 root).
            workdir = Path(tempfile.mkdtemp(prefix="studymate-nginx-"))
            shutil.chown(workdir, "nobody", "nogroup")
        else:
            workdir.mkdir(parents=True, exist_ok=True)
        self.dir = workdir
        self.url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in self.upstream_ports
        )
        location = re.sub(r"\n\s*#[^\n]*", "", example_location())
        d = self.dir
        return f"""worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream studymate_bots {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        {location}
        location / {{ return 404; }}
    }}
}}
"""

    async def start(self, timeout: float = 10.0) -> Nginx:
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        command = [self.binary, "-p", str(self.dir), "-c", str(conf),
                   "-e", str(self.dir / "error.log"), "-g", "daemon off;"]
        extra = {"user": "nobody", "group": "nogroup"} if self._own_dir else {}
        if self._own_dir:
            shutil.chown(conf, "nobody", "nogroup")
        self.proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, **extra
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}: {self.error_log}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self
            await asyncio.sleep(0.05)
        raise RuntimeError(f"nginx did not listen in {timeout} s: {self.error_log}")

    @property
    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def webhook_env(front_url: str, http_port: int) -> dict[str, str]:
    """The variables that make ``studymate bot`` a webhook replica on ``http_port``."""
    return {
        "STUDYMATE_TELEGRAM_MODE": "webhook",
        "STUDYMATE_WEBHOOK_URL": front_url,
        "STUDYMATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STUDYMATE_HTTP_HOST": "127.0.0.1",
        "STUDYMATE_HTTP_PORT": str(http_port),
    }


class Replica:
    """One ``studymate bot`` process in webhook mode."""

    def __init__(self, index: int, env: dict[str, str], cwd: Path) -> None:
        self.index = index
        self.env = env
        self.cwd = cwd
        self.port = int(env["STUDYMATE_HTTP_PORT"])
        self.path = urlsplit(env["STUDYMATE_WEBHOOK_URL"]).path
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.log_path = cwd / f"replica-{index}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def start(self, timeout: float = 30.0) -> Replica:
        """Start it and wait until it accepts updates (a malformed POST gets 400, not 503)."""
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "studymate", "bot", env=self.env, cwd=self.cwd,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"replica {self.index} exited {self.proc.returncode}:\n{self.log}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                    async with session.post(
                        self.base + self.path, data=b"{}", headers={SECRET_HEADER: WEBHOOK_SECRET}
                    ) as response:
                        if response.status == 400:
                            return self
                await asyncio.sleep(0.1)
        raise RuntimeError(f"replica {self.index} not ready in {timeout} s:\n{self.log}")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async with session.get(self.base + path) as response:
                return response.status, await response.text()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus series' samples in ``text`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(rf"{re.escape(name)}(?:\{{([^}}]*)\}})?\s+(\S+)$", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


class Cluster:
    """nginx in front of ``count`` replicas sharing one database and one Redis."""

    def __init__(
        self, nginx_binary: str, workdir: Path, count: int, env: dict[str, str]
    ) -> None:
        self.workdir = workdir
        ports = [free_port() for _ in range(count)]
        self.nginx = Nginx(nginx_binary, workdir / "nginx", free_port(), ports)
        self.replicas = []
        for index, port in enumerate(ports):
            replica_env = {
                **env, **webhook_env(self.nginx.url, port),
                # Each replica its own heartbeat file, as on separate hosts or systemd instances.
                "STUDYMATE_RUNTIME_DIR": str(workdir / f"run-{index}"),
            }
            self.replicas.append(Replica(index, replica_env, workdir))

    async def start(self) -> Cluster:
        await self.nginx.start()
        await asyncio.gather(*(r.start() for r in self.replicas))
        return self

    async def stop(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.replicas), return_exceptions=True)
        await self.nginx.stop()

    async def scrape(self, path: str) -> list[tuple[int, str]]:
        return list(await asyncio.gather(*(r.get(path) for r in self.replicas)))
