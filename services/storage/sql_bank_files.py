"""SQL backend part: imported bank payment files and their rows (services/payments/bank_files.py)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import schema as s
from services.clock import utcnow
from services.errors import DuplicateError
from services.models import Page
from services.payments.models import BankFile, BankPaymentRow
from services.storage.sql_common import is_unique_violation, read_tx, write_tx
from services.storage.sql_scope import scope_where

bf, bp = s.bank_files, s.bank_payments
CHUNK = 1000


class BankFilesPart:
    def bank_file_by_sha(self, sha256: str) -> BankFile | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(bf).where(bf.c.sha256 == sha256)).mappings().first()
        return BankFile.from_row(row) if row else None

    def record_bank_file(self, file_row: dict, rows: list[dict], actor) -> BankFile:
        now = utcnow()
        try:
            with write_tx(self.engine) as conn:
                fid = conn.execute(bf.insert().values(**file_row, imported_by=actor.user_id,
                                                      imported_by_name=actor.username[:64], created_at=now)
                                   .returning(bf.c.id)).scalar_one()
                for i in range(0, len(rows), CHUNK):
                    conn.execute(bp.insert(), [{**r, "bank_file_id": fid, "created_at": now} for r in rows[i:i + CHUNK]])
                self._audit(conn, actor, "bank_file.import", "bank_file", fid, {
                    "file_name": file_row["file_name"], "rows": file_row["row_count"],
                    "matched": file_row["matched_count"], "duplicate": file_row["duplicate_count"],
                    "refused": file_row["refused_count"], "matched_amount": file_row["matched_amount"]})
        except IntegrityError as exc:
            if is_unique_violation(exc, "sha256"):
                raise DuplicateError("This bank file was imported already.") from None
            raise
        with read_tx(self.engine) as conn:
            return BankFile.from_row(conn.execute(sa.select(bf).where(bf.c.id == fid)).mappings().one())

    def list_bank_files(self, offset: int = 0, limit: int = 50) -> Page[BankFile]:
        with read_tx(self.engine) as conn:
            rows = conn.execute(sa.select(bf).order_by(bf.c.id.desc()).offset(offset).limit(limit)).mappings().all()
            total = conn.execute(sa.select(sa.func.count()).select_from(bf)).scalar_one()
        return Page([BankFile.from_row(x) for x in rows], offset, limit, total)

    def list_bank_payments(self, bank_file_id: int, outcomes: tuple[str, ...] = (), offset: int = 0,
                           limit: int = 50) -> Page[BankPaymentRow]:
        q = sa.select(bp).where(bp.c.bank_file_id == bank_file_id)
        if outcomes:
            q = q.where(bp.c.outcome.in_(outcomes))
        q = scope_where(q, self._bill_in_scope(bp.c.bill_id))
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.order_by(bp.c.row_no).offset(offset).limit(limit)).mappings().all()
            total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        return Page([BankPaymentRow.from_row(x) for x in rows], offset, limit, total)
