"""Start a throwaway PostgreSQL server in a temporary directory (for tests and benchmarks).

    python -m scripts.pg_throwaway            # start, print the URL, wait for Ctrl-C, then stop
    python -m scripts.pg_throwaway --help

PostgreSQL refuses to run as root, so as root the data directory is owned by the `postgres`
system user and the server binaries run through `runuser`. The server listens on 127.0.0.1 on a
free port, with fsync off: it is for throwaway data only.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_pg_bin() -> Path:
    env = os.environ.get("PG_BIN")
    candidates = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])
    for c in reversed(candidates):
        if c and Path(c, "initdb").exists():
            return Path(c)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("PostgreSQL server binaries not found (apt-get install -y postgresql, or set PG_BIN).")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ThrowawayPostgres:
    tmpdir: Path
    port: int
    pg_bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def create_database(self, name: str) -> str:
        """Create another database on this server and return its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run(self.pg_bin / "pg_ctl", "-D", self.tmpdir / "data", "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def start(port: int | None = None) -> ThrowawayPostgres:
    pg_bin = find_pg_bin()
    tmp = Path(tempfile.mkdtemp(prefix="meterline-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    port = port or free_port()
    pg = ThrowawayPostgres(tmp, port, pg_bin)
    try:
        pg._run(pg_bin / "initdb", "-D", tmp / "data", "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
                "--locale=C.UTF-8")
        pg._run(pg_bin / "pg_ctl", "-D", tmp / "data", "-l", tmp / "pg.log", "-w", "-t", "60", "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c synchronous_commit=off "
                f"-c full_page_writes=off -c max_connections=200", "start")
    except subprocess.CalledProcessError as exc:
        log = (tmp / "pg.log").read_text() if (tmp / "pg.log").exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
        raise PostgresUnavailable(f"could not start PostgreSQL: {exc.stderr or exc.stdout}\n{log}") from exc
    return pg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.pg_throwaway", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    args = ap.parse_args(argv)
    pg = start(args.port)
    print(pg.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
