"""REST backend part: tamper-evident bills (issue 20, docs/trust.md) on Supabase. After a call that
stored bills (meterline_insert_bill, meterline_insert_bill_batch, which return the new ids), the bills
are read back, their canonical content written by database/bill_chain.canonical (the same bytes the
SQL backends seal and scripts.verify_chain recomputes) and chained by meterline_seal_bills
(database/supabase/94_functions_seals.sql) under the chain's lock.

Not in the bills' own transaction (PostgREST calls are one transaction each): when sealing fails the
bill is stored but unsealed; verify_chain reports it, and seal_unsealed_bills seals it. Sealing never
undoes a stored bill."""
from __future__ import annotations

import logging

from database import bill_chain
from services.storage.rest_client import IN_CHUNK, chunks, columns

log = logging.getLogger(__name__)
UNSEALED_PAGE = 1000


class RestChainPart:
    def _bill_contents(self, ids: list[int]) -> list[tuple[int, bytes]]:
        """(bill id, canonical bytes) of stored bills, read back exactly (numerics as text)."""
        out = []
        for part in chunks(sorted(set(ids)), IN_CHUNK):
            bills = self.rest.select_all("bills", filters=[("in", "id", part)], order=(("id", False),),
                                         cols=columns("bills", bill_chain.CONTENT_COLUMNS), what="reading bills to seal")
            lines: dict[int, list] = {}
            for ln in self.rest.select_all("bill_lines", filters=[("in", "bill_id", part)],
                                           cols=columns("bill_lines", ("bill_id",) + bill_chain.LINE_COLUMNS),
                                           what="reading bill lines to seal"):
                lines.setdefault(ln["bill_id"], []).append(tuple(ln[c] for c in bill_chain.LINE_COLUMNS))
            out += [(b["id"], bill_chain.canonical(tuple(b[c] for c in bill_chain.CONTENT_COLUMNS), lines.get(b["id"], ())))
                    for b in bills]
        return out

    def _seal_bills(self, ids) -> bill_chain.ChainHead | None:
        ids = [int(x) for x in ids or ()]
        if not ids:
            return None
        items = [{"bill_id": i, "content": c.decode()} for i, c in self._bill_contents(ids)]
        out = self.rest.rpc("meterline_seal_bills", {"p_items": items}, what=f"sealing {len(items)} bills",
                            idempotent=True)  # a repeat skips the bills sealed already
        return bill_chain.ChainHead(int(out["seq"]), out["hash"], None)

    def _seal_after_write(self, ids) -> None:
        """Seal what a write just stored; a failure leaves the bills stored and unsealed (reported by
        verify_chain, sealed by seal_unsealed_bills), never undoes them."""
        try:
            self._seal_bills(ids)
        except Exception:  # noqa: BLE001 - the bills are stored; sealing is caught up later
            log.exception("bills %s stored but not sealed; run python -m scripts.verify_chain --seal-unsealed", ids)

    def seal_unsealed_bills(self) -> bill_chain.ChainHead:
        after = 0
        while True:
            ids = self.rest.rpc("meterline_unsealed_bills", {"p_after": after, "p_limit": UNSEALED_PAGE},
                                what="finding unsealed bills", idempotent=True) or []
            if not ids:
                return self.bill_chain_head()
            self._seal_bills(ids)
            after = max(ids)

    def bill_chain_head(self) -> bill_chain.ChainHead:
        out = self.rest.rpc("meterline_bill_chain_head", {}, what="reading the bill chain's head", idempotent=True)
        return bill_chain.ChainHead(int(out["seq"]), out["hash"], out.get("bill_id"))
