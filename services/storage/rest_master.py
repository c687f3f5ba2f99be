"""REST backend part: master data import (services/master_data/importer.py decides, /rpc stores).

An import is stored all or nothing. One chunk is one /rpc call (one transaction). Several chunks
(a big file: one request each would be too large to send at once) are first staged, one /rpc
call per chunk into master_data_staging, which changes nothing else; then one /rpc call applies
every staged chunk in order in one transaction and removes them. If anything fails before that
call, nothing was imported (staged chunks of an import that never completed are removed a day
later by the next import).
"""
from __future__ import annotations

import uuid
from typing import Sequence

from services.master_data.importer import MasterDataChanges, MasterDataState
from services.storage.rest_client import actor_json

STATE_CHUNK = 1000  # keys per state request (sent in the JSON body, not the URL)


class RestMasterPart:
    def master_data_state(self, account_codes, meter_numbers, motor_codes) -> MasterDataState:
        st = MasterDataState()
        account_codes, meter_numbers, motor_codes = (list(dict.fromkeys(x)) for x in (account_codes, meter_numbers, motor_codes))
        n = max(len(account_codes), len(meter_numbers), len(motor_codes))
        for i in range(0, max(n, 1), STATE_CHUNK):
            out = self.rest.rpc("meterline_master_data_state", {
                "p_account_codes": account_codes[i:i + STATE_CHUNK], "p_meter_numbers": meter_numbers[i:i + STATE_CHUNK],
                "p_motor_codes": motor_codes[i:i + STATE_CHUNK]}, what="reading the master data", idempotent=True)
            for f in out["accounts"]:
                st.accounts[f["code"]] = f
            for code, mid, number in out["flat_meters"]:
                st.flat_meters.setdefault(code, []).append((mid, number))
            for code, motor in out["account_motors"]:
                st.account_motors.setdefault(code, []).append(motor)
            for m in out["meters"]:
                st.meters[m["meter_number"]] = {k: m[k] for k in ("id", "account_code", "motor_code", "status")}
            for code, mid, number in out["motor_meters"]:
                st.motor_meters.setdefault(code, []).append((mid, number))
        return st

    def apply_master_data(self, changes: MasterDataChanges | Sequence[MasterDataChanges], actor) -> None:
        parts = [changes] if isinstance(changes, MasterDataChanges) else list(changes)
        if len(parts) == 1:
            self.rest.rpc("meterline_apply_master_data", {"p_changes": parts[0].__dict__, "p_actor": actor_json(actor)},
                          what="storing the master data")
            return
        import_id = str(uuid.uuid4())
        for n, part in enumerate(parts, start=1):
            self.rest.rpc("meterline_stage_master_data", {"p_import": import_id, "p_part": n, "p_changes": part.__dict__},
                          what=f"sending part {n} of {len(parts)} of the master data (nothing is stored yet)")
        self.rest.rpc("meterline_apply_staged_master_data", {"p_import": import_id, "p_parts": len(parts),
                                                              "p_actor": actor_json(actor)},
                      what="storing the master data")
