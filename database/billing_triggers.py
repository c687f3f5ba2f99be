"""Triggers for bill coverage, re-issues and credits (SQLite and PostgreSQL; included by
database/triggers.py, so the Supabase SQL gets the PostgreSQL ones too).

- `superseded` is terminal: a superseded bill never changes status, payments or links again; a
  bill becomes superseded only with superseded_by set (its replacement), never from
  carried_forward, and is never inserted superseded.
- When a bill becomes superseded, its bill_readings rows are released (superseded_by set to the
  replacement), in the same statement: coverage moves with the re-issue.
- bill_readings is append-only apart from that release. A reading may be linked only to a bill
  that is not superseded, only when it is an approved reading of the bill's account, and never while
  another bill that is not superseded covers it. SQLite checks each row before it is inserted;
  PostgreSQL checks each inserted set of rows at the end of its statement (a bill run COPYs them),
  and there the partial unique index uq_bill_readings_current_reading refuses a second current
  cover first, also between concurrent transactions (storage translates both into the same words).
- A payment of method `credit` (a re-issue moving what was paid on the replaced bill) must name
  that bill in credit_from_bill, that bill must be superseded by the credited one, and the
  amount must be exactly what was paid on it.

Every statement is idempotent.
"""
from __future__ import annotations

from database.archive_triggers import in_archive

SUPERSEDED_MESSAGE = ("BILL_SUPERSEDED: a superseded bill never changes again, and a bill becomes superseded "
                      "only by a re-issue that names its replacement")
TAKEN_MESSAGE = "BILL_READING_TAKEN: the reading is already covered by a bill that is not superseded"
LINK_MESSAGE = ("BILL_READING_INVALID: a bill covers only approved readings of its own account, and a superseded "
                "bill covers nothing new")
APPEND_ONLY_MESSAGE = "APPEND_ONLY: rows of this table are never changed or deleted"
CREDIT_MESSAGE = ("CREDIT_INVALID: a credit moves exactly what was paid on a superseded bill to the bill that "
                  "replaced it, once")

# A superseded bill: nothing about its money or links moves again.
_SQLITE_SUPERSEDED_CHANGED = (
    "OLD.status = 'superseded' AND (NEW.status IS NOT OLD.status OR NEW.superseded_by IS NOT OLD.superseded_by "
    "OR NEW.amount_paid IS NOT OLD.amount_paid OR NEW.carried_forward_to IS NOT OLD.carried_forward_to)")
_PG_SUPERSEDED_CHANGED = (
    "OLD.status = 'superseded' AND (NEW.status IS DISTINCT FROM OLD.status "
    "OR NEW.superseded_by IS DISTINCT FROM OLD.superseded_by OR NEW.amount_paid IS DISTINCT FROM OLD.amount_paid "
    "OR NEW.carried_forward_to IS DISTINCT FROM OLD.carried_forward_to)")
_BAD_SUPERSEDE = (
    "(NEW.status = 'superseded' AND (NEW.superseded_by IS NULL OR NEW.superseded_by = NEW.id "
    "OR OLD.status = 'carried_forward')) OR (NEW.status <> 'superseded' AND NEW.superseded_by IS NOT NULL)")


def sqlite_statements() -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS trg_bills_superseded_terminal BEFORE UPDATE ON bills
            WHEN ({_SQLITE_SUPERSEDED_CHANGED}) OR {_BAD_SUPERSEDE}
            BEGIN SELECT RAISE(ABORT, '{SUPERSEDED_MESSAGE}'); END""",
        # Recreated with the archive (issue 14): a superseded bill restored from it comes back as it was.
        "DROP TRIGGER IF EXISTS trg_bills_insert_not_superseded",
        f"""CREATE TRIGGER trg_bills_insert_not_superseded BEFORE INSERT ON bills
            WHEN (NEW.status = 'superseded' OR NEW.superseded_by IS NOT NULL) AND NOT {in_archive("bills", "NEW")}
            BEGIN SELECT RAISE(ABORT, '{SUPERSEDED_MESSAGE}'); END""",
        """CREATE TRIGGER IF NOT EXISTS trg_bills_release_coverage AFTER UPDATE OF status ON bills
            WHEN NEW.status = 'superseded' AND OLD.status <> 'superseded'
            BEGIN
              UPDATE bill_readings SET superseded_by = NEW.superseded_by
               WHERE bill_id = NEW.id AND superseded_by IS NULL;
            END""",
        "DROP TRIGGER IF EXISTS trg_bill_readings_insert",
        f"""CREATE TRIGGER trg_bill_readings_insert BEFORE INSERT ON bill_readings
            WHEN NOT {in_archive("bill_readings", "NEW")}
            BEGIN
              SELECT RAISE(ABORT, '{TAKEN_MESSAGE}') WHERE EXISTS (
                SELECT 1 FROM bill_readings x WHERE x.reading_id = NEW.reading_id AND x.superseded_by IS NULL)
                OR EXISTS (SELECT 1 FROM archived_bill_readings x
                            WHERE x.reading_id = NEW.reading_id AND x.superseded_by IS NULL);
              SELECT RAISE(ABORT, '{LINK_MESSAGE}') WHERE NEW.superseded_by IS NOT NULL OR NOT EXISTS (
                SELECT 1 FROM bills b JOIN readings r ON r.id = NEW.reading_id JOIN meters m ON m.id = r.meter_id
                 WHERE b.id = NEW.bill_id AND b.status <> 'superseded' AND r.status = 'approved'
                   AND m.account_id = b.account_id);
            END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bill_readings_update BEFORE UPDATE ON bill_readings
            WHEN NOT (OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL AND NEW.id = OLD.id
                      AND NEW.bill_id = OLD.bill_id AND NEW.reading_id = OLD.reading_id AND NEW.units = OLD.units
                      AND NEW.motor_units = OLD.motor_units
                      AND NEW.superseded_by IS (SELECT b.superseded_by FROM bills b
                                                 WHERE b.id = OLD.bill_id AND b.status = 'superseded'))
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
        "DROP TRIGGER IF EXISTS trg_bill_readings_no_delete",
        f"""CREATE TRIGGER trg_bill_readings_no_delete BEFORE DELETE ON bill_readings
            WHEN NOT {in_archive("bill_readings")}
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_payments_credit BEFORE INSERT ON payments
            WHEN NEW.method = 'credit' OR NEW.credit_from_bill IS NOT NULL
            BEGIN
              SELECT RAISE(ABORT, '{CREDIT_MESSAGE}') WHERE NEW.method IS NOT 'credit' OR NOT EXISTS (
                SELECT 1 FROM bills o WHERE o.id = NEW.credit_from_bill AND o.status = 'superseded'
                   AND o.superseded_by = NEW.bill_id AND o.amount_paid = NEW.amount);
            END""",
    ]


def postgresql_statements() -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION meterline_bills_superseded() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'INSERT' AND {in_archive("bills", "NEW")} THEN
               RETURN NEW;  -- restored from the archive as it was issued (issue 14)
             END IF;
             IF TG_OP = 'INSERT' OR ({_PG_SUPERSEDED_CHANGED}) OR {_BAD_SUPERSEDE} THEN
               RAISE EXCEPTION '{SUPERSEDED_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_insert_not_superseded ON bills",
        # WHEN clauses: the function runs only for the rare rows it is about (a bill run COPYs 300,000).
        """CREATE TRIGGER trg_bills_insert_not_superseded BEFORE INSERT ON bills
           FOR EACH ROW WHEN (NEW.status = 'superseded' OR NEW.superseded_by IS NOT NULL)
           EXECUTE FUNCTION meterline_bills_superseded()""",
        "DROP TRIGGER IF EXISTS trg_bills_superseded_terminal ON bills",
        """CREATE TRIGGER trg_bills_superseded_terminal BEFORE UPDATE ON bills
           FOR EACH ROW WHEN (OLD.status = 'superseded' OR NEW.status = 'superseded' OR NEW.superseded_by IS NOT NULL)
           EXECUTE FUNCTION meterline_bills_superseded()""",
        """CREATE OR REPLACE FUNCTION meterline_bills_release_coverage() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             UPDATE bill_readings SET superseded_by = NEW.superseded_by
              WHERE bill_id = NEW.id AND superseded_by IS NULL;
             RETURN NULL;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_release_coverage ON bills",
        """CREATE TRIGGER trg_bills_release_coverage AFTER UPDATE OF status ON bills
           FOR EACH ROW WHEN (NEW.status = 'superseded' AND OLD.status <> 'superseded')
           EXECUTE FUNCTION meterline_bills_release_coverage()""",
        f"""CREATE OR REPLACE FUNCTION meterline_bill_readings_guard() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' AND {in_archive("bill_readings")} THEN
               RETURN OLD;  -- its copy is in the archive (issue 14)
             END IF;
             IF TG_OP = 'DELETE' OR NOT (
                  OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL AND NEW.id = OLD.id
                  AND NEW.bill_id = OLD.bill_id AND NEW.reading_id = OLD.reading_id AND NEW.units = OLD.units
                  AND NEW.motor_units = OLD.motor_units
                  AND NEW.superseded_by IS NOT DISTINCT FROM (
                    SELECT b.superseded_by FROM bills b WHERE b.id = OLD.bill_id AND b.status = 'superseded')) THEN
               RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bill_readings_guard ON bill_readings",
        """CREATE TRIGGER trg_bill_readings_guard BEFORE UPDATE OR DELETE ON bill_readings
           FOR EACH ROW EXECUTE FUNCTION meterline_bill_readings_guard()""",
        # Inserts are checked a statement at a time (a bill run COPYs 300,000 rows): the partial
        # unique index refuses a second current cover first, under concurrency too.
        f"""CREATE OR REPLACE FUNCTION meterline_bill_readings_inserted() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             -- Rows restored from the archive (issue 14) are checked by nothing: they are the rows stored.
             IF EXISTS (SELECT 1 FROM new_rows n JOIN bill_readings x
                          ON x.reading_id = n.reading_id AND x.superseded_by IS NULL AND x.id <> n.id
                         WHERE NOT EXISTS (SELECT 1 FROM archived_bill_readings a WHERE a.id = n.id))
                OR EXISTS (SELECT 1 FROM new_rows n JOIN archived_bill_readings x  -- covered by an archived bill
                             ON x.reading_id = n.reading_id AND x.superseded_by IS NULL AND x.id <> n.id) THEN
               RAISE EXCEPTION '{TAKEN_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             IF EXISTS (SELECT 1 FROM new_rows n
                         WHERE NOT EXISTS (SELECT 1 FROM archived_bill_readings a WHERE a.id = n.id)
                           AND (n.superseded_by IS NOT NULL OR NOT EXISTS (
                           SELECT 1 FROM bills b JOIN readings r ON r.id = n.reading_id JOIN meters m ON m.id = r.meter_id
                            WHERE b.id = n.bill_id AND b.status <> 'superseded' AND r.status = 'approved'
                              AND m.account_id = b.account_id))) THEN
               RAISE EXCEPTION '{LINK_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NULL;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bill_readings_inserted ON bill_readings",
        """CREATE TRIGGER trg_bill_readings_inserted AFTER INSERT ON bill_readings
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION meterline_bill_readings_inserted()""",
        f"""CREATE OR REPLACE FUNCTION meterline_payments_credit() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.method IS DISTINCT FROM 'credit' OR NOT EXISTS (
                  SELECT 1 FROM bills o WHERE o.id = NEW.credit_from_bill AND o.status = 'superseded'
                     AND o.superseded_by = NEW.bill_id AND o.amount_paid = NEW.amount) THEN
               RAISE EXCEPTION '{CREDIT_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_payments_credit ON payments",
        """CREATE TRIGGER trg_payments_credit BEFORE INSERT ON payments
           FOR EACH ROW WHEN (NEW.method = 'credit' OR NEW.credit_from_bill IS NOT NULL)
           EXECUTE FUNCTION meterline_payments_credit()""",
    ]
