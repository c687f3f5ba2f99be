"""Locks that hold one meter across several units of work (Storage.hold_meter).

The process-local part is a lock per key, created on first use and dropped when nobody holds
or waits for it, so holding many meters over time keeps no memory. The SQLite backend adds a
lock file per meter stripe next to the database (flock: held per open file, so it also keeps
out other processes on the same machine); PostgreSQL adds an advisory lock (services/storage/
sql_readings.py).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

SQLITE_LOCK_STRIPES = 64  # lock files per database: meter_id % 64


class KeyedLocks:
    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[object, list] = {}  # key -> [lock, users]

    @contextlib.contextmanager
    def hold(self, key):
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[key]


LOCAL_METER_LOCKS = KeyedLocks()


@contextlib.contextmanager
def file_lock(directory: Path, meter_id: int):
    """An exclusive flock on directory/meter-NN.lock (created on first use); blocks until free."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"meter-{meter_id % SQLITE_LOCK_STRIPES:02d}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock
