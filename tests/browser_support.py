"""Start and stop a private JupyterLab server, and find the browser, for the real-browser tests.

The server never touches the user's Jupyter setup: its config, data, runtime and IPython folders
are temporary; it listens on 127.0.0.1 on a free port with a random token; and it is stopped
(``POST /api/shutdown``, then the whole process group) even when a test fails.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--disable-dev-shm-usage", "--no-first-run"]


def find_chromium() -> str | None:
    """Debian's Chromium (``apt-get install chromium``); Playwright's own download is never used."""
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: ``url`` ends with ``/``; requests need ``?token=`` or the header."""

    url: str
    token: str
    root_dir: Path
    process: subprocess.Popen
    log_path: Path
    temp_dirs: list[Path] = field(default_factory=list)

    def lab_url(self, path: str) -> str:
        return f"{self.url}lab/tree/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0):
        req = urllib.request.Request(f"{self.url}api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def start_lab(root_dir: Path, startup_timeout: float = 60.0) -> LabServer:
    """Start ``jupyter lab`` from this Python's environment on 127.0.0.1 and wait until it answers."""
    temp = Path(tempfile.mkdtemp(prefix="mam-lab-"))
    env = dict(os.environ)
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        (temp / sub).mkdir()
        env[name] = str(temp / sub)
    # no "would you like news?" toast over the page, no update checks
    settings = temp / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}))
    env["JUPYTERLAB_SETTINGS_DIR"] = str(temp / "config" / "lab" / "user-settings")
    env["JUPYTER_PREFER_ENV_PATH"] = "1"  # the environment's kernelspec (this Python), not a system one
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.pop("JUPYTER_PATH", None)
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter) if jupyter.exists() else sys.executable, *([] if jupyter.exists() else ["-m", "jupyter"]),
           "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--ServerApp.shutdown_no_activity_timeout=120", "--MappingKernelManager.cull_idle_timeout=0"]
    log_path = temp / "lab.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    server = LabServer(f"http://127.0.0.1:{port}/", token, Path(root_dir), proc, log_path, [temp])
    deadline = time.monotonic() + startup_timeout
    while True:
        if proc.poll() is not None:
            text = server.log()
            stop_lab(server)
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode} while starting:\n{text}")
        try:
            server.api("status", timeout=2.0)
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            text = server.log()
            stop_lab(server)
            raise TimeoutError(f"jupyter lab did not answer within {startup_timeout:.0f} s:\n{text}")
        time.sleep(0.25)


def stop_lab(server: LabServer, grace: float = 5.0) -> None:
    """Shut the server down (its kernels too), then end its process group and delete its folders."""
    proc = server.process
    if proc.poll() is None:
        with contextlib.suppress(Exception):
            server.api("shutdown", method="POST", timeout=3.0)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # kernels run in their own sessions and exit when their parent goes
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    for d in server.temp_dirs:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def lab_server(root_dir: Path, startup_timeout: float = 60.0) -> Iterator[LabServer]:
    server = start_lab(root_dir, startup_timeout)
    try:
        yield server
    finally:
        stop_lab(server)


def only_localhost(route) -> None:
    """Playwright route handler: let requests to 127.0.0.1 through, abort everything else."""
    url = route.request.url
    if url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()
