"""The database's half of undoing a review decision (issue 18; the rule: services/readings/undo.py).

A reading's status goes back to pending (from approved or rejected) only while no bill covers it,
and, from rejected, only while its place in the meter's chain is unchanged: the reading it was
measured from (previous_reading_id, which the rejection left alone) is still the last live reading
of the meter before it. Whatever writes readings (the
backends, a script, a console) meets the same refusal.
"""
from __future__ import annotations

UNDO_MESSAGE = ("READING_UNDO: a reading goes back to pending only while no bill covers it and, after a rejection, "
                "while its place in the chain of its meter is unchanged")


def _before(x: str, y: str) -> str:
    return f"({x}.reading_date < {y}.reading_date OR ({x}.reading_date = {y}.reading_date AND {x}.id < {y}.id))"


def _refused() -> str:
    from database.triggers import reading_billed_sql  # triggers.py imports this module

    latest = f"""(SELECT x.id, x.reading_value FROM readings x
                   WHERE x.meter_id = NEW.meter_id AND x.status <> 'rejected' AND x.id <> NEW.id AND {_before('x', 'NEW')}
                   ORDER BY x.reading_date DESC, x.id DESC LIMIT 1)"""
    # Readings stored before previous_reading_id existed have only their consumption: by value.
    moved = f"""(OLD.status = 'rejected' AND (
        (NEW.previous_reading_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {latest} l WHERE l.id = NEW.previous_reading_id))
        OR (NEW.previous_reading_id IS NULL AND NEW.consumption IS NULL AND EXISTS (SELECT 1 FROM {latest} l))
        OR (NEW.previous_reading_id IS NULL AND NEW.consumption IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM {latest} l WHERE ABS(l.reading_value - (NEW.reading_value - NEW.consumption)) < 0.005))))"""
    return f"({reading_billed_sql('OLD.id')} OR {moved})"


WHEN = "OLD.status IN ('approved', 'rejected') AND NEW.status = 'pending'"


def sqlite_statements() -> list[str]:
    return [f"""CREATE TRIGGER IF NOT EXISTS trg_readings_undo_review BEFORE UPDATE OF status ON readings
                WHEN {WHEN} AND {_refused()}
                BEGIN SELECT RAISE(ABORT, '{UNDO_MESSAGE}'); END"""]


def postgresql_statements() -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION meterline_readings_undo_review() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF {WHEN} AND {_refused()} THEN
               RAISE EXCEPTION '{UNDO_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_readings_undo_review ON readings",
        """CREATE TRIGGER trg_readings_undo_review BEFORE UPDATE OF status ON readings
           FOR EACH ROW EXECUTE FUNCTION meterline_readings_undo_review()""",
    ]
