"""REST backend part: imported bank payment files (services/storage/sql_bank_files.py)."""
from __future__ import annotations

from services.errors import DuplicateError
from services.models import Page
from services.payments.models import BankFile, BankPaymentRow
from services.storage.rest_client import actor_json, to_json


class RestBankFilesPart:
    def bank_file_by_sha(self, sha256: str) -> BankFile | None:
        rows, _ = self.rest.select("bank_files", filters=[("eq", "sha256", sha256)], limit=1,
                                   what="looking up a bank file")
        return BankFile.from_row(rows[0]) if rows else None

    def record_bank_file(self, file_row: dict, rows: list[dict], actor) -> BankFile:
        try:
            fid = self.rest.rpc("meterline_record_bank_file", {
                "p_file": to_json(file_row), "p_rows": to_json(rows), "p_actor": actor_json(actor)},
                what=f"storing bank file {file_row['file_name']}")
        except DuplicateError:
            raise DuplicateError("This bank file was imported already.") from None
        rows_, _ = self.rest.select("bank_files", filters=[("eq", "id", fid)], limit=1, what="reading a bank file")
        return BankFile.from_row(rows_[0])

    def list_bank_files(self, offset: int = 0, limit: int = 50) -> Page[BankFile]:
        rows, total = self.rest.select("bank_files", order=(("id", True),), offset=offset, limit=limit, count="exact",
                                       what="listing bank files")
        return Page([BankFile.from_row(x) for x in rows], offset, limit, total)

    def list_bank_payments(self, bank_file_id: int, outcomes: tuple[str, ...] = (), offset: int = 0,
                           limit: int = 50) -> Page[BankPaymentRow]:
        flt = [("eq", "bank_file_id", bank_file_id)]
        if outcomes:
            flt.append(("in", "outcome", list(outcomes)))
        rows, total = self.rest.select("bank_payments", filters=flt, order=(("row_no", False),), offset=offset,
                                       limit=limit, count="exact", what="listing a bank file's rows")
        return Page([BankPaymentRow.from_row(x) for x in rows], offset, limit, total)
