-- Month-end bill runs (read side and run records) and dashboard figures. Amounts come back as
-- text so they reach Python as exact Decimals (PostgREST sends numerics as JSON numbers).

CREATE OR REPLACE FUNCTION meterline_start_bill_run(p_start date, p_end date, p_due date, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO bill_runs (billing_period_start, billing_period_end, due_date, status, started_by, started_at)
  VALUES (p_start, p_end, p_due, 'running', COALESCE(p_actor->>'username', 'system'), now())
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'bill_run.start', 'bill_run', v_id::text, jsonb_build_object(
    'start', p_start::text, 'end', p_end::text, 'due', p_due::text));
  RETURN v_id;
END $$;

-- Flats with an approved reading in the period that already have a bill starting in it.
CREATE OR REPLACE FUNCTION meterline_count_run_skips(p_start date, p_end date)
RETURNS bigint LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT count(DISTINCT m.account_id)
    FROM readings r JOIN meters m ON m.id = r.meter_id
   WHERE r.status = 'approved' AND r.reading_date BETWEEN p_start AND p_end AND m.account_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM bills b WHERE b.account_id = m.account_id AND b.billing_period_start BETWEEN p_start AND p_end)
$$;

-- The next p_limit accounts by id after p_after: each active one with no bill starting in the period
-- and an approved reading dated in it that no bill covers, with its readings (approved or pending,
-- not covered) after each meter's last billed reading, dated up to the period end (Python decides
-- what the bill covers: services/coverage.run_chain); plus those accounts' open bills.
-- Returns {"upper": last flat id looked at or null, "candidates": [...], "open_bills": [...]}.
CREATE OR REPLACE FUNCTION meterline_bill_run_candidates(p_start date, p_end date, p_after bigint, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_upper bigint;
  v_candidates jsonb;
BEGIN
  SELECT max(id) INTO v_upper FROM (SELECT id FROM accounts WHERE id > p_after ORDER BY id LIMIT p_limit) w;
  IF v_upper IS NULL THEN
    RETURN jsonb_build_object('upper', NULL, 'candidates', '[]'::jsonb, 'open_bills', '[]'::jsonb);
  END IF;
  WITH lm AS (  -- the window's flat meters, each with its last billed reading
    SELECT m.id AS meter_id, m.account_id,
           (SELECT r2.id FROM readings r2
             WHERE r2.meter_id = m.id
               AND EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r2.id AND x.superseded_by IS NULL)
             ORDER BY r2.reading_date DESC, r2.id DESC LIMIT 1) AS last_id
      FROM meters m JOIN accounts f ON f.id = m.account_id
     WHERE m.account_id > p_after AND m.account_id <= v_upper AND f.is_active
       AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.account_id = f.id AND b.billing_period_start BETWEEN p_start AND p_end)
  ), tail AS (
    SELECT lm.account_id, r.id, r.meter_id, r.reading_date, r.status, r.approved_units, r.consumption, r.motor_share,
           r.motor_reading_id
      FROM lm JOIN readings r ON r.meter_id = lm.meter_id
      LEFT JOIN readings lr ON lr.id = lm.last_id
     WHERE r.status IN ('approved', 'pending') AND r.reading_date <= p_end
       AND (lr.id IS NULL OR (r.reading_date, r.id) > (lr.reading_date, lr.id))
       AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
  ), flats_in AS (
    SELECT DISTINCT account_id FROM tail
     WHERE status = 'approved' AND reading_date BETWEEN p_start AND p_end
  )
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'account_id', f.id, 'account_code', f.code, 'category', ft.name,
           'tail', (SELECT jsonb_agg(jsonb_build_object(
                      'reading_id', t.id, 'meter_id', t.meter_id, 'reading_date', t.reading_date, 'status', t.status,
                      'approved_units', t.approved_units::text, 'consumption', t.consumption::text,
                      'motor_share', t.motor_share::text, 'motor_reading_id', t.motor_reading_id)
                      ORDER BY t.reading_date, t.id)
                      FROM tail t WHERE t.account_id = f.id)) ORDER BY f.id), '[]'::jsonb)
    INTO v_candidates
    FROM flats_in fi JOIN accounts f ON f.id = fi.account_id
    LEFT JOIN flat_types ft ON ft.id = f.type_id;
  RETURN jsonb_build_object(
    'upper', v_upper,
    'candidates', v_candidates,
    'open_bills', COALESCE((
      SELECT jsonb_agg(jsonb_build_object('account_id', b.account_id, 'id', b.id, 'total_amount', b.total_amount::text,
                                          'amount_paid', b.amount_paid::text) ORDER BY b.id)
        FROM bills b
       WHERE b.account_id > p_after AND b.account_id <= v_upper
         AND b.status IN ('pending', 'partially_paid', 'overdue')), '[]'::jsonb));
END $$;

-- Dashboard for one month: billed (this period's charges, arrears excluded; superseded and cancelled
-- bills left out), bill count, collected (payments dated in the month, re-issue credits left out),
-- outstanding on open bills, pending readings, overdue bills.
CREATE OR REPLACE FUNCTION meterline_dashboard(p_first date, p_last date, p_as_of date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'billed', (SELECT COALESCE(sum(total_amount - previous_outstanding), 0)::numeric(14, 2)::text FROM bills
                WHERE billing_period_start BETWEEN p_first AND p_last AND status NOT IN ('cancelled', 'superseded')),
    'bill_count', (SELECT count(*) FROM bills
                    WHERE billing_period_start BETWEEN p_first AND p_last
                      AND status NOT IN ('cancelled', 'superseded')),
    -- Money received: a re-issue's credit (credit_from_bill) moves money already counted.
    'collected', (SELECT COALESCE(sum(amount), 0)::numeric(14, 2)::text FROM payments
                   WHERE paid_on BETWEEN p_first AND p_last AND credit_from_bill IS NULL),
    'outstanding', (SELECT COALESCE(sum(total_amount - amount_paid), 0)::numeric(14, 2)::text FROM bills
                     WHERE status IN ('pending', 'partially_paid', 'overdue')),
    'pending_readings', (SELECT count(*) FROM readings WHERE status = 'pending'),
    'overdue_count', (SELECT count(*) FROM bills
                       WHERE status IN ('pending', 'partially_paid', 'overdue') AND due_date < p_as_of))
$$;

-- Per month between p_first and p_last: units and charges billed (by period start), bill count,
-- and payments collected (by payment date).
CREATE OR REPLACE FUNCTION meterline_monthly_series(p_first date, p_last date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'billed', COALESCE((SELECT jsonb_agg(jsonb_build_object('month', month, 'units', units::text,
                                                            'billed', billed::text, 'n', n))
                          FROM (SELECT to_char(billing_period_start, 'YYYY-MM') AS month,
                                       COALESCE(sum(total_units), 0)::numeric(14, 2) AS units,
                                       COALESCE(sum(total_amount - previous_outstanding), 0)::numeric(14, 2) AS billed,
                                       count(*) AS n
                                  FROM bills
                                 WHERE billing_period_start BETWEEN p_first AND p_last
                                   AND status NOT IN ('cancelled', 'superseded')
                                 GROUP BY 1) x), '[]'::jsonb),
    'collected', COALESCE((SELECT jsonb_agg(jsonb_build_object('month', month, 'collected', collected::text))
                             FROM (SELECT to_char(paid_on, 'YYYY-MM') AS month,
                                          COALESCE(sum(amount), 0)::numeric(14, 2) AS collected
                                     FROM payments WHERE paid_on BETWEEN p_first AND p_last
                                                         AND credit_from_bill IS NULL GROUP BY 1) y), '[]'::jsonb))
$$;
