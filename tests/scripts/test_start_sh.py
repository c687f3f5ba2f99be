"""./start.sh listens on this machine only unless ADDRESS says otherwise.

The real start.sh starts the real app; only its install step (scripts/venv.sh) is replaced by
activating the suite's virtualenv, so the test never runs pip. The listening socket is read from
the kernel (/proc/net/tcp*), not inferred from the command line.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

LISTEN = "0A"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on `port`, as the kernel reports them."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if int(hexport, 16) == port and fields[3] == LISTEN:
                raw = bytes.fromhex(addr)
                # /proc prints each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                family = socket.AF_INET if width == 8 else socket.AF_INET6
                found.add(socket.inet_ntop(family, words))
    return found


@pytest.fixture
def project_copy(tmp_path):
    """start.sh in a directory of its own: the app's code linked in, venv.sh only activating."""
    work = tmp_path / "app"
    (work / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "start.sh", work / "start.sh")
    (work / "scripts" / "venv.sh").write_text(f"source {Path(sys.executable).parent}/activate\n")
    for name in ("streamlit_app.py", "web.py", "ui", "services", "database", ".streamlit", "requirements.txt"):
        (work / name).symlink_to(ROOT / name)
    return work


def start(work: Path, tmp_path: Path, port: int, **env) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if k != "ADDRESS"}
    full.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'start.db'}", "METERLINE_DOTENV": "0",
                 "PHOTO_DIR": str(tmp_path / "photos"), "PORT": str(port), **env})
    full = {k: v for k, v in full.items() if v is not None}  # None: leave the variable out
    proc = subprocess.Popen(["bash", str(work / "start.sh"), "--server.fileWatcherType", "none"], cwd=tmp_path,
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"start.sh exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise AssertionError("start.sh's app did not answer /_stcore/health")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def test_start_sh_listens_on_loopback_by_default(project_copy, tmp_path):
    port = free_port()
    proc = start(project_copy, tmp_path, port)
    try:
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        stop(proc)


def test_address_opens_it_to_the_network(project_copy, tmp_path):
    port = free_port()
    proc = start(project_copy, tmp_path, port, ADDRESS="0.0.0.0")
    try:
        assert listening_addresses(port) == {"0.0.0.0"}
    finally:
        stop(proc)
