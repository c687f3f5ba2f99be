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
  SELECT count(DISTINCT m.flat_id)
    FROM readings r JOIN meters m ON m.id = r.meter_id
   WHERE r.status = 'approved' AND r.reading_date BETWEEN p_start AND p_end AND m.flat_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM bills b WHERE b.flat_id = m.flat_id AND b.billing_period_start BETWEEN p_start AND p_end)
$$;

-- The next p_limit flats by id after p_after: for each active one with no bill starting in the
-- period, its latest approved reading dated in the period that no bill references; plus those
-- flats' open bills (Python works out the arrears, as on the SQL backend).
-- Returns {"upper": last flat id looked at or null, "candidates": [...], "open_bills": [...]}.
CREATE OR REPLACE FUNCTION meterline_bill_run_candidates(p_start date, p_end date, p_after bigint, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_upper bigint;
BEGIN
  SELECT max(id) INTO v_upper FROM (SELECT id FROM flats WHERE id > p_after ORDER BY id LIMIT p_limit) w;
  IF v_upper IS NULL THEN
    RETURN jsonb_build_object('upper', NULL, 'candidates', '[]'::jsonb, 'open_bills', '[]'::jsonb);
  END IF;
  RETURN jsonb_build_object(
    'upper', v_upper,
    'candidates', COALESCE((
      SELECT jsonb_agg(jsonb_build_object(
               'flat_id', c.flat_id, 'flat_code', f.code, 'flat_type', ft.name, 'reading_id', c.reading_id,
               'approved_units', c.approved_units::text, 'consumption', c.consumption::text,
               'motor_share', c.motor_share::text, 'motor_reading_id', c.motor_reading_id) ORDER BY c.flat_id)
        FROM (SELECT m.flat_id, r.id AS reading_id, r.approved_units, r.consumption, r.motor_share, r.motor_reading_id,
                     row_number() OVER (PARTITION BY m.flat_id ORDER BY r.reading_date DESC, r.id DESC) AS rn
                FROM readings r JOIN meters m ON m.id = r.meter_id
               WHERE r.status = 'approved' AND r.reading_date BETWEEN p_start AND p_end AND m.flat_id IS NOT NULL
                 AND m.flat_id > p_after AND m.flat_id <= v_upper
                 AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.flat_reading_id = r.id)) c
        JOIN flats f ON f.id = c.flat_id
        LEFT JOIN flat_types ft ON ft.id = f.type_id
       WHERE c.rn = 1 AND f.is_active
         AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.flat_id = c.flat_id
                                                AND b.billing_period_start BETWEEN p_start AND p_end)), '[]'::jsonb),
    'open_bills', COALESCE((
      SELECT jsonb_agg(jsonb_build_object('flat_id', b.flat_id, 'id', b.id, 'total_amount', b.total_amount::text,
                                          'amount_paid', b.amount_paid::text) ORDER BY b.id)
        FROM bills b
       WHERE b.flat_id > p_after AND b.flat_id <= v_upper
         AND b.status IN ('pending', 'partially_paid', 'overdue')), '[]'::jsonb));
END $$;

-- Dashboard for one month: billed (this period's charges, arrears excluded), bill count,
-- collected (payments dated in the month), outstanding on open bills, pending readings, overdue bills.
CREATE OR REPLACE FUNCTION meterline_dashboard(p_first date, p_last date, p_as_of date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'billed', (SELECT COALESCE(sum(total_amount - previous_outstanding), 0)::numeric(14, 2)::text FROM bills
                WHERE billing_period_start BETWEEN p_first AND p_last AND status <> 'cancelled'),
    'bill_count', (SELECT count(*) FROM bills
                    WHERE billing_period_start BETWEEN p_first AND p_last AND status <> 'cancelled'),
    'collected', (SELECT COALESCE(sum(amount), 0)::numeric(14, 2)::text FROM payments
                   WHERE paid_on BETWEEN p_first AND p_last),
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
                                 WHERE billing_period_start BETWEEN p_first AND p_last AND status <> 'cancelled'
                                 GROUP BY 1) x), '[]'::jsonb),
    'collected', COALESCE((SELECT jsonb_agg(jsonb_build_object('month', month, 'collected', collected::text))
                             FROM (SELECT to_char(paid_on, 'YYYY-MM') AS month,
                                          COALESCE(sum(amount), 0)::numeric(14, 2) AS collected
                                     FROM payments WHERE paid_on BETWEEN p_first AND p_last GROUP BY 1) y), '[]'::jsonb))
$$;
