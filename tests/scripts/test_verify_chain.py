"""python -m scripts.verify_chain (and verify_billing): the bills' hash chain names the first bill
whose content or order changed, even when the change was made by direct SQL with every trigger
off; an exported head catches a history rewritten with recomputed seals."""
import sqlite3

import pytest
import sqlalchemy as sa

from database import bill_chain
from scripts import verify_billing, verify_chain
from tests.scripts.test_verify_billing import demo, one  # noqa: F401  (the seeded demo database, both dialects)


def by_direct_sql(st, *statements, **params):
    """Run statements with every trigger off: SQLite drops them, PostgreSQL replicates (no triggers, no FKs)."""
    if st.dialect == "sqlite":  # a plain sqlite3 connection: foreign keys off, as a person with the file has it
        raw = sqlite3.connect(st.engine.url.database)
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            raw.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            raw.execute(sql, params)
        raw.commit()
        raw.close()
        return
    with st.engine.begin() as c:
        c.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for sql in statements:
            c.execute(sa.text(sql), params)
        else:
            c.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for sql in statements:
            c.execute(sa.text(sql), params)
        c.commit()


def run(url, capsys, *extra):
    code = verify_chain.main(["--database-url", url, *extra])
    return code, capsys.readouterr().out


def test_every_demo_bill_is_sealed_in_order_and_the_head_can_be_exported(demo, capsys):
    url, st = demo
    code, out = run(url, capsys)
    assert code == 0 and "bill chain OK: 120 bills sealed" in out
    code, head = run(url, capsys, "--head")
    assert code == 0 and head.startswith("meterline-bill-chain seq=120 hash=")
    assert run(url, capsys, "--expect-head", head.strip())[0] == 0


def test_a_total_changed_by_direct_sql_is_named(demo, capsys):
    url, st = demo
    bill_id, number = one(st, "SELECT id, bill_number FROM bills ORDER BY id LIMIT 1 OFFSET 50")
    by_direct_sql(st, "UPDATE bills SET total_amount = total_amount + 1 WHERE id = :b", b=bill_id)
    code, out = run(url, capsys)
    assert code == 1 and f"bill #{bill_id} {number} (seal 51) was changed after it was issued" in out
    assert verify_billing.main(["--database-url", url]) == 1
    assert f"FAIL 1 bill chain BROKEN: bill #{bill_id}" in capsys.readouterr().out


def test_a_line_changed_and_a_later_one_too_names_the_first(demo, capsys):
    url, st = demo
    first, later = [x for (x,) in st.engine.connect().execute(sa.text(
        "SELECT DISTINCT bill_id FROM bill_lines ORDER BY bill_id LIMIT 2 OFFSET 30"))]
    by_direct_sql(st, "UPDATE bill_lines SET label = 'Energy (edited)' WHERE bill_id = :b AND seq = 1", b=later)
    by_direct_sql(st, "UPDATE bill_lines SET amount = amount WHERE bill_id = :b", b=first)  # no change: still OK
    code, out = run(url, capsys)
    assert code == 1 and f"bill #{later} " in out
    by_direct_sql(st, "UPDATE bills SET psid = '99999999999999999' WHERE id = :b", b=first)
    code, out = run(url, capsys)
    assert code == 1 and f"bill #{first} " in out and f"bill #{later} " not in out


def test_a_seal_removed_or_a_bill_deleted_breaks_the_order(demo, capsys):
    url, st = demo
    by_direct_sql(st, "DELETE FROM bill_seals WHERE seq = 7")
    code, out = run(url, capsys)
    assert code == 1 and "seal 7 is missing" in out


def test_a_bill_deleted_is_named(demo, capsys):
    url, st = demo
    bill_id = one(st, "SELECT bill_id FROM bill_seals WHERE seq = 120")[0]
    by_direct_sql(st, "DELETE FROM bill_lines WHERE bill_id = :b", "DELETE FROM bill_readings WHERE bill_id = :b",
                  "DELETE FROM payments WHERE bill_id = :b", "UPDATE bills SET carried_forward_to = NULL "
                  "WHERE carried_forward_to = :b", "DELETE FROM bills WHERE id = :b", b=bill_id)
    code, out = run(url, capsys)
    assert code == 1 and f"bill #{bill_id} (seal 120) was deleted" in out


def test_a_bill_inserted_behind_the_chain_is_named(demo, capsys):
    url, st = demo
    flat, area = one(st, "SELECT id, area_id FROM accounts ORDER BY id LIMIT 1")
    version = one(st, "SELECT id FROM tariff_plan_versions ORDER BY id LIMIT 1")[0]
    with st.engine.begin() as c:  # plain SQL, outside Meterline's write path (the triggers allow the insert)
        c.execute(sa.text("INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, "
                      "billing_period_end, due_date, units, motor_units, total_units, rate_per_unit, fixed_charge, "
                      "previous_outstanding, total_amount) VALUES (:f, :a, :v, '2019-03-01', '2019-03-31', "
                      "'2019-04-15', 10, 0, 10, 12, 0, 0, 120)"), {"f": flat, "a": area, "v": version})
    code, out = run(url, capsys)
    assert code == 1 and "carries no seal" in out


def test_a_history_rewritten_with_recomputed_seals_fails_only_against_the_exported_head(demo, capsys):
    url, st = demo
    head = run(url, capsys, "--head")[1].strip()
    bill_id = one(st, "SELECT bill_id FROM bill_seals WHERE seq = 3")[0]
    # A forger edits a bill and recomputes every seal after it, so the chain is consistent again.
    by_direct_sql(st, "UPDATE bills SET total_amount = total_amount + 100 WHERE id = :b", b=bill_id)
    with st.engine.begin() as c:
        rows = c.execute(sa.select(bill_chain.seals.c.seq, bill_chain.seals.c.bill_id).order_by("seq")).all()
    by_direct_sql(st, "DELETE FROM bill_seals")
    with st.engine.begin() as c:
        if st.dialect == "postgresql":
            c.execute(sa.text("SET LOCAL session_replication_role = replica"))
        bill_chain.seal(c, [bid for _, bid in rows])
    assert run(url, capsys)[0] == 0  # consistent on its own ...
    code, out = run(url, capsys, "--expect-head", head)
    assert code == 1 and "not on the chain" in out  # ... but not the history the outside party kept


def test_seals_are_append_only(demo):
    _, st = demo
    with pytest.raises(sa.exc.DBAPIError, match="BILL_SEAL_APPEND_ONLY"):
        with st.engine.begin() as c:
            c.execute(sa.text("UPDATE bill_seals SET hash = prev_hash WHERE seq = 1"))
    with pytest.raises(sa.exc.DBAPIError, match="BILL_SEAL_APPEND_ONLY"):
        with st.engine.begin() as c:
            c.execute(sa.text("DELETE FROM bill_seals WHERE seq = 1"))


def test_the_parallel_walk_names_the_same_first_bill(demo):
    """verify_chain --workers: ranges of seals walked in separate processes, joined at their edges."""
    url, st = demo
    assert bill_chain.verify_parallel(url, 3, min_parallel=0).ok
    first, later = (one(st, "SELECT bill_id FROM bill_seals WHERE seq = :s", s=x)[0] for x in (45, 100))
    by_direct_sql(st, "UPDATE bills SET due_date = '2026-12-31' WHERE id IN (:a, :b)", a=first, b=later)
    report = bill_chain.verify_parallel(url, 3, min_parallel=0)
    assert not report.ok and report.bill_id == first and "(seal 45)" in report.first_problem
    by_direct_sql(st, "DELETE FROM bill_seals WHERE seq = 41")  # the first seal of the second range
    report = bill_chain.verify_parallel(url, 3, min_parallel=0)
    assert not report.ok and "seal 41 is missing" in report.first_problem
