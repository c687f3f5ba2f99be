"""SQLAlchemy Core backend for SQLite and PostgreSQL.

The class is assembled from parts, one file each: the utility, areas, accounts, tariff plans and
daily usage (sql_reference.py), meters and readings (sql_readings.py), meter changes
(sql_meter_changes.py), bills/payments/runs/dashboard (sql_bills.py), users/sessions/audit and
notifications/payment events/job runs (sql_users.py), bill coverage and re-issues
(sql_coverage.py), storing daily usage and contacts (sql_usage.py), usage anomalies
(sql_anomalies.py).
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from database import schema as s
from database.migrations import apply_schema
from services.clock import utcnow
from services.errors import StorageError
from services.accounts.roles import Actor
from services.storage.base import BULK_TABLES, Storage
from services.storage.sql_users import UsersPart
from services.storage.sql_bills import BillsPart
from services.storage.sql_common import TABLES, make_engine, read_tx, write_tx
from services.storage.sql_coverage import CoveragePart
from services.storage.sql_documents import DocumentsPart
from services.storage.sql_master import MasterPart
from services.storage.sql_meter_changes import MeterChangesPart
from services.storage.sql_readings import ReadingsPart
from services.storage.sql_reference import ReferencePart
from services.storage.sql_scope import ScopePart
from services.storage.sql_staff import StaffPart
from services.storage.sql_bank_files import BankFilesPart
from services.storage.sql_reports import ReportsPart
from services.storage.sql_bulk import BulkPart
from services.storage.sql_anomalies import AnomaliesPart
from services.storage.sql_usage import UsagePart
from services.storage.sql_survey import SurveyPart
from services.storage.sql_analytics import AnalyticsPart
from services.storage.sql_archive import ArchivePart
from services.storage.sql_customers import CustomersPart
from services.storage.sql_field import FieldPart
from services.storage.sql_photo_hashes import ChainPart, PhotoHashesPart


class SqlStorage(ReferencePart, ReadingsPart, MeterChangesPart, BillsPart, CoveragePart, UsersPart, MasterPart, DocumentsPart,
                 ScopePart, StaffPart, BankFilesPart, ReportsPart, BulkPart, UsagePart, AnomaliesPart, SurveyPart, AnalyticsPart,
                 CustomersPart, FieldPart, PhotoHashesPart, ChainPart, ArchivePart, Storage):
    def __init__(self, url: str, *, create: bool = True, engine: sa.engine.Engine | None = None):
        self.engine = engine or make_engine(url)
        self.dialect = self.engine.dialect.name
        self.backend_name = self.dialect
        self.url = url
        if create:
            self.ensure_schema()

    def __repr__(self) -> str:
        return f"SqlStorage({self.engine.url.render_as_string(hide_password=True)})"

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- schema and health -----------------------------------------------------------------
    def ensure_schema(self) -> None:
        apply_schema(self.engine)

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"Cannot reach the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from exc

    def table_counts(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        names = list(tables) if tables else [t.name for t in s.metadata.sorted_tables if t.name != "schema_info"]
        with read_tx(self.engine) as conn:
            return {n: conn.execute(sa.select(sa.func.count()).select_from(TABLES[n])).scalar_one() for n in names}

    def refresh_statistics(self) -> None:
        if self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))

    # ---- reference data ----------------------------------------------------------------------
    def bulk_insert(self, table: str, rows: list[dict], *, return_ids: bool = False) -> list[int] | None:
        if table not in BULK_TABLES:
            raise ValueError(f"bulk_insert is not allowed on {table}")
        if not rows:
            return [] if return_ids else None
        t = TABLES[table]
        with write_tx(self.engine) as conn:
            if return_ids:  # SQLAlchemy's insertmanyvalues keeps the ids in the order of the rows
                return list(conn.execute(t.insert().returning(t.c.id, sort_by_parameter_order=True), rows).scalars())
            conn.execute(t.insert(), rows)
        return None

    def lookup_ids(self, table: str, key_column: str, values: Iterable) -> dict:
        t = TABLES[table]
        keys = list(dict.fromkeys(values))
        out: dict = {}
        with read_tx(self.engine) as conn:
            for i in range(0, len(keys), 900):  # stay under SQLite's bound-parameter limit
                chunk = keys[i:i + 900]
                for k, id_ in conn.execute(sa.select(t.c[key_column], t.c.id).where(t.c[key_column].in_(chunk))):
                    out[k] = id_
        return out

    # ---- audit helper shared by the parts ------------------------------------------------------
    def _audit(self, conn, actor: Actor, action: str, entity_type: str | None = None,
               entity_id=None, details: dict | None = None) -> None:
        conn.execute(s.audit_log.insert().values(
            occurred_at=utcnow(), actor_id=actor.user_id, actor_name=actor.username, client=actor.client,
            action=action, entity_type=entity_type, entity_id=None if entity_id is None else str(entity_id),
            details=_jsonable(details) if details else None,
        ))

    def write_audit(self, actor: Actor, action: str, entity_type=None, entity_id=None, details=None) -> None:
        with write_tx(self.engine) as conn:
            self._audit(conn, actor, action, entity_type, entity_id, details)


def _jsonable(value):
    """Decimals and dates in audit details become strings, exactly."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (Decimal, dt.date, dt.datetime)):
        return str(value)
    return value
