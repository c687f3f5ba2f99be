"""Supabase REST backend: the storage contract over supabase-py (PostgREST), for users who only
have the project URL and key.

Reads select from tables and the views of database/supabase/10_views.sql with filters, at most
1,000 rows a request (paged), exact or estimated counts; what must be one transaction (a change
and its audit row, the no-overwrite retry, a month run's batch, a payment) is one call of a
function of database/supabase_schema.sql through /rpc. Pricing stays in Python. The class is
assembled from parts, one file each, like the SQL backend: rest_reference.py (the utility, areas,
accounts, tariff plans, daily usage), rest_readings.py, rest_bills.py, rest_users.py, rest_master.py,
rest_usage.py (water: storing usage, anomalies, contacts);
HTTP, retries, paging and errors are in rest_client.py.
"""
from __future__ import annotations

import os
from typing import Iterable

from database import schema as s
from services.errors import ConfigurationError, MeterlineError, StorageError
from services.storage.base import BULK_TABLES, Storage
from services.storage.rest_users import RestUsersPart
from services.storage.rest_bills import RestBillsPart
from services.storage.rest_documents import RestDocumentsPart
from services.storage.rest_client import IN_CHUNK, PAGE, RestClient, chunks
from services.storage.rest_master import RestMasterPart
from services.storage.rest_readings import RestReadingsPart
from services.storage.rest_reference import RestReferencePart
from services.storage.rest_scope import RestScopePart
from services.storage.rest_staff import RestStaffPart
from services.storage.rest_bank_files import RestBankFilesPart
from services.storage.rest_reports import RestReportsPart
from services.storage.rest_bulk import RestBulkPart
from services.storage.rest_usage import RestUsagePart
from services.storage.rest_survey import RestSurveyPart
from services.storage.rest_analytics import RestAnalyticsPart
from services.storage.rest_customers import RestCustomersPart
from services.storage.rest_field import RestFieldPart
from services.storage.rest_photos import RestPhotosPart
from services.storage.rest_chain import RestChainPart
from services.storage.rest_archive import RestArchivePart

BULK_CHUNK = 1000  # rows per POST: one JSON array, one transaction


class SupabaseStorage(RestReferencePart, RestReadingsPart, RestBillsPart, RestUsersPart, RestMasterPart, RestDocumentsPart,
                      RestScopePart, RestStaffPart, RestBankFilesPart, RestReportsPart, RestBulkPart, RestUsagePart,
                      RestSurveyPart, RestAnalyticsPart, RestCustomersPart, RestFieldPart, RestPhotosPart, RestChainPart, RestArchivePart,
                      Storage):
    backend_name = "supabase"

    def __init__(self, url: str, key: str, *, client_options=None, max_attempts: int | None = None,
                 backoff: float = 0.25, timeout: float | None = None):
        """client_options: a supabase.lib.client_options.SyncClientOptions (its timeout and httpx client
        are used; its retry is turned off). Defaults come from SUPABASE_TIMEOUT_SECONDS (30) and
        SUPABASE_MAX_ATTEMPTS (3: an idempotent request is tried at most this many times)."""
        self.url = (url or "").rstrip("/")
        timeout = timeout if timeout is not None else float(os.environ.get("SUPABASE_TIMEOUT_SECONDS") or 30)
        attempts = max_attempts if max_attempts is not None else int(os.environ.get("SUPABASE_MAX_ATTEMPTS") or 3)
        self.rest = RestClient(url, key, client_options=client_options, max_attempts=attempts, backoff=backoff,
                               timeout=timeout)

    def __repr__(self) -> str:
        return f"SupabaseStorage({self.url})"  # never the key

    def dispose(self) -> None:
        self.rest.close()

    # ---- schema and health -----------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Check the project has the schema this version needs (tables are created by running
        database/supabase_schema.sql in the SQL editor, not from here)."""
        version = self.rest.rpc("meterline_schema_version", {}, what="checking the schema version", idempotent=True)
        if version is None or int(version) < s.SCHEMA_VERSION:
            raise ConfigurationError(
                f"The Supabase schema is version {version}, this Meterline needs {s.SCHEMA_VERSION}. Run "
                "database/supabase_schema.sql in the Supabase SQL editor (it is safe to run again).")

    def ping(self) -> None:
        try:
            self.rest.select("schema_info", filters=[("eq", "key", "version")], limit=1, what="connecting")
        except MeterlineError as exc:
            raise StorageError(f"Cannot use Supabase at {self.url}: {exc}") from exc

    def table_counts(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        # "estimated": exact up to 1,000 rows, the planner's estimate above (a COUNT(*) of a big
        # table is a full scan on every call).
        names = list(tables) if tables else [t.name for t in s.metadata.sorted_tables if t.name != "schema_info"]
        return {n: self.rest.count(n, method="estimated") for n in names}

    # ---- reference data ----------------------------------------------------------------------
    def bulk_insert(self, table: str, rows: list[dict], *, return_ids: bool = False) -> list[int] | None:
        """POSTs of JSON arrays of up to BULK_CHUNK rows. One chunk is one transaction; when a later
        chunk fails, the rows the earlier chunks stored are deleted again, so nothing is left half-loaded.
        The ids come back as PostgREST returns the inserted rows: in the order of the array sent (one
        INSERT ... SELECT over the array per chunk)."""
        if table not in BULK_TABLES:
            raise ValueError(f"bulk_insert is not allowed on {table}")
        stored: list[int] = []
        try:
            for batch in _batches(rows, BULK_CHUNK):
                got = self.rest.insert(table, batch, what=f"loading {len(rows)} rows into {table}", returning="id")
                stored.extend(r["id"] for r in got)
        except MeterlineError as exc:
            if stored:
                self._undo_bulk(table, stored, exc)
            raise
        return stored if return_ids else None

    def _undo_bulk(self, table: str, ids: list[int], cause: Exception) -> None:
        try:
            for chunk in chunks(ids, IN_CHUNK):
                self.rest.delete(table, [("in", "id", chunk)], what=f"removing the partly loaded rows of {table}")
        except MeterlineError as exc:
            raise StorageError(f"Loading {table} failed ({cause}) and the {len(ids)} rows already stored (ids "
                               f"{ids[0]}..{ids[-1]}) could not be removed ({exc}); delete them before loading again.") from exc

    def lookup_ids(self, table: str, key_column: str, values: Iterable) -> dict:
        keys = list(dict.fromkeys(values))
        out: dict = {}
        for chunk in chunks(keys, IN_CHUNK):
            rows = self.rest.select_all(table, filters=[("in", key_column, chunk)], order=(("id", False),),
                                        cols=f"{key_column},id", cap=PAGE * 10)
            for r in rows:
                out[r[key_column]] = r["id"]
        return out


def _batches(rows: list[dict], size: int):
    """Chunks of at most `size` rows that share one set of keys (PostgREST fills keys a row lacks
    with NULL, not the column default, so rows with different keys go in different requests)."""
    batch: list[dict] = []
    keys = None
    for row in rows:
        k = tuple(sorted(row))
        if batch and (k != keys or len(batch) >= size):
            yield batch
            batch = []
        keys = k
        batch.append(row)
    if batch:
        yield batch
