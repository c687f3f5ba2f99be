-- Bill coverage (which readings a bill covers, services/billing/coverage.py), bill run records counted from
-- the bills they stored, and the read-only billing checks of scripts/verify_billing.py. The same
-- queries as services/storage/sql_coverage.py.

-- The account's readings that are not rejected, after each meter's last reading covered (by a bill
-- that is not superseded, other than p_replacing) before p_reading, up to and including it, oldest
-- first; each with the bill (not superseded) covering it, if any.
DROP FUNCTION IF EXISTS meterline_coverage_chain(bigint, bigint, bigint);  -- schema version 2 named it p_flat
CREATE OR REPLACE FUNCTION meterline_coverage_chain(p_account bigint, p_reading bigint, p_replacing bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_date date;
BEGIN
  SELECT reading_date INTO v_date FROM readings WHERE id = p_reading;
  IF v_date IS NULL THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_reading));
  END IF;
  RETURN COALESCE((
    WITH lm AS (
      SELECT m.id AS meter_id,
             (SELECT r2.id FROM readings r2
               WHERE r2.meter_id = m.id AND (r2.reading_date, r2.id) < (v_date, p_reading)
                 AND EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r2.id AND x.superseded_by IS NULL
                                                        AND x.bill_id IS DISTINCT FROM p_replacing)
               ORDER BY r2.reading_date DESC, r2.id DESC LIMIT 1) AS last_id
        FROM meters m WHERE m.account_id = p_account
    )
    SELECT jsonb_agg(jsonb_build_object(
             'reading_id', r.id, 'meter_id', r.meter_id, 'reading_date', r.reading_date, 'status', r.status,
             'approved_units', r.approved_units::text, 'consumption', r.consumption::text,
             'motor_share', r.motor_share::text, 'motor_reading_id', r.motor_reading_id,
             'covered_by', (SELECT x.bill_id FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL
                             LIMIT 1))
             ORDER BY r.reading_date, r.id)
      FROM lm JOIN readings r ON r.meter_id = lm.meter_id
      LEFT JOIN readings lr ON lr.id = lm.last_id
     WHERE r.status <> 'rejected' AND (r.reading_date, r.id) <= (v_date, p_reading)
       AND (lr.id IS NULL OR (r.reading_date, r.id) > (lr.reading_date, lr.id))), '[]'::jsonb);
END $$;

-- (bills a run stored, their total), counted from bills.bill_run_id.
CREATE OR REPLACE FUNCTION meterline_bill_run_totals(p_run bigint)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('created', count(*), 'total_amount', COALESCE(sum(total_amount), 0)::numeric(14, 2)::text)
    FROM bills WHERE bill_run_id = p_run
$$;

-- Close a run record; its created count and total are counted from the bills it stored, so a run
-- that died half-way is recorded as what it really did.
CREATE OR REPLACE FUNCTION meterline_finish_bill_run(p_run bigint, p_status text, p_skipped integer,
                                                     p_refused integer, p_error text)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE bill_runs r
     SET status = p_status, skipped_count = p_skipped, refused_count = p_refused, error = p_error,
         finished_at = now(),
         created_count = (SELECT count(*) FROM bills b WHERE b.bill_run_id = p_run),
         total_amount = (SELECT COALESCE(sum(b.total_amount), 0) FROM bills b WHERE b.bill_run_id = p_run)
   WHERE r.id = p_run;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('Bill run %s does not exist.', p_run));
  END IF;
  RETURN p_run;
END $$;

-- Read-only checks of the billing invariants: {check: {"count": n, "first": [...]}} for
-- uncovered_readings, double_covered, units_mismatch, balance_mismatch and lines_mismatch (see
-- scripts/verify_billing.py).
CREATE OR REPLACE FUNCTION meterline_billing_checks(p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_out jsonb := '{}'::jsonb;
BEGIN
  WITH q AS (
    SELECT r.id AS reading_id, r.meter_id, r.reading_date FROM readings r
     WHERE r.status = 'approved'
       AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
       AND EXISTS (SELECT 1 FROM readings r2
                    WHERE r2.meter_id = r.meter_id AND (r2.reading_date, r2.id) > (r.reading_date, r.id)
                      AND EXISTS (SELECT 1 FROM bill_readings y WHERE y.reading_id = r2.id AND y.superseded_by IS NULL))
  )
  SELECT v_out || jsonb_build_object('uncovered_readings', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY reading_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH q AS (
    SELECT x.reading_id, count(*) AS bills FROM bill_readings x JOIN bills b ON b.id = x.bill_id
     WHERE b.status <> 'superseded' GROUP BY x.reading_id HAVING count(*) > 1
  )
  SELECT v_out || jsonb_build_object('double_covered', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY reading_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH sums AS (
    SELECT bill_id, sum(units) AS units, sum(motor_units) AS motor FROM bill_readings GROUP BY bill_id
  ), q AS (
    SELECT b.id AS bill_id, b.account_id, b.units::text AS units, b.motor_units::text AS motor_units
      FROM bills b JOIN sums s ON s.bill_id = b.id
     -- a bill that trued up an estimate charges its readings' units less what it deducted (estimates.py)
     WHERE b.units + COALESCE((b.tariff_details #>> '{estimate,deducted_units}')::numeric, 0) <> s.units
        OR b.motor_units <> s.motor
        OR (b.status <> 'superseded' AND b.first_reading_id IS NOT NULL AND EXISTS (
              SELECT 1 FROM bill_readings y JOIN readings r ON r.id = y.reading_id
               WHERE y.bill_id = b.id AND y.units <> COALESCE(r.approved_units, r.consumption, 0)))
  )
  SELECT v_out || jsonb_build_object('units_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY bill_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH per_account AS (
    SELECT account_id,
           sum(CASE WHEN status IN ('pending', 'partially_paid', 'overdue') THEN total_amount - amount_paid ELSE 0 END)
             AS owed,
           sum(CASE WHEN status NOT IN ('cancelled', 'superseded') THEN total_amount - previous_outstanding ELSE 0 END)
             AS charges
      FROM bills GROUP BY account_id
  ), paid AS (
    SELECT b.account_id, sum(p.amount) AS paid FROM payments p JOIN bills b ON b.id = p.bill_id
     WHERE b.status NOT IN ('cancelled', 'superseded') GROUP BY b.account_id
  ), q AS (
    SELECT f.account_id, f.owed::text AS owed, f.charges::text AS charges, COALESCE(p.paid, 0)::text AS paid
      FROM per_account f LEFT JOIN paid p ON p.account_id = f.account_id
     WHERE f.owed <> f.charges - COALESCE(p.paid, 0)
  )
  SELECT v_out || jsonb_build_object('balance_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY account_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH sums AS (
    SELECT bill_id, sum(amount) AS lines FROM bill_lines GROUP BY bill_id
  ), q AS (
    SELECT b.id AS bill_id, b.account_id, b.total_amount::text AS total_amount,
           COALESCE(s.lines, 0)::text AS lines_sum
      FROM bills b LEFT JOIN sums s ON s.bill_id = b.id
     WHERE COALESCE(s.lines, 0) <> b.total_amount
  )
  SELECT v_out || jsonb_build_object('lines_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY bill_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  -- The per-month, per-area summary rows (database/bill_totals.py) against a recomputation from the bills.
  WITH fresh AS (
    SELECT to_char(billing_period_start, 'YYYY-MM') AS bill_month, area_id, due_date, status,
           amount_paid > 0 AS paid_any, previous_outstanding > 0 AS arrears, count(*) AS bills,
           sum(round(total_units * 100)::bigint) AS units, sum(round((total_amount - previous_outstanding) * 100)::bigint) AS billed,
           sum(round(total_amount * 100)::bigint) AS due, sum(round(amount_paid * 100)::bigint) AS paid
      FROM bills GROUP BY 1, 2, 3, 4, 5, 6
  ), stored AS (
    SELECT * FROM bill_month_totals WHERE bills <> 0 OR units <> 0 OR billed <> 0 OR due <> 0 OR paid <> 0
  ), q AS (
    SELECT COALESCE(s.bill_month, f.bill_month) AS bill_month, COALESCE(s.area_id, f.area_id) AS area_id,
           COALESCE(s.due_date, f.due_date) AS due_date, COALESCE(s.status, f.status) AS status,
           COALESCE(s.paid_any, f.paid_any) AS paid_any, COALESCE(s.arrears, f.arrears) AS arrears,
           s.bills AS stored_bills, f.bills AS recomputed_bills, s.due AS stored_due, f.due AS recomputed_due,
           s.paid AS stored_paid, f.paid AS recomputed_paid
      FROM stored s FULL JOIN fresh f USING (bill_month, area_id, due_date, status, paid_any, arrears)
     WHERE (COALESCE(s.bills, 0), COALESCE(s.units, 0), COALESCE(s.billed, 0), COALESCE(s.due, 0), COALESCE(s.paid, 0))
           IS DISTINCT FROM (COALESCE(f.bills, 0), COALESCE(f.units, 0), COALESCE(f.billed, 0), COALESCE(f.due, 0),
                             COALESCE(f.paid, 0))
  )
  SELECT v_out || jsonb_build_object('totals_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY bill_month, area_id,
                                                                   due_date, status LIMIT p_limit) z), '[]'::jsonb)))
    INTO v_out;
  RETURN v_out;
END $$;
