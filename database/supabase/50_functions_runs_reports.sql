-- Month-end bill runs (read side and run records) and dashboard figures. Amounts come back as
-- text so they reach Python as exact Decimals (PostgREST sends numerics as JSON numbers).

-- A run record (bill_runs) of one service, optionally limited to one area. Audited. Returns its id.
DROP FUNCTION IF EXISTS meterline_start_bill_run(date, date, date, jsonb);  -- schema version 2: no service, area
CREATE OR REPLACE FUNCTION meterline_start_bill_run(p_start date, p_end date, p_due date, p_actor jsonb,
                                                    p_service text DEFAULT 'electricity', p_area bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO bill_runs (billing_period_start, billing_period_end, due_date, service, area_id, status, started_by,
                         started_at)
  VALUES (p_start, p_end, p_due, p_service, p_area, 'running', COALESCE(p_actor->>'username', 'system'), now())
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'bill_run.start', 'bill_run', v_id::text, jsonb_build_object(
    'start', p_start::text, 'end', p_end::text, 'due', p_due::text, 'service', p_service, 'area_id', p_area));
  RETURN v_id;
END $$;

-- Accounts the run would bill (active, with an active connection to the service started by p_end, under p_area when
-- given, and by the plan's quantity source: an approved reading dated in the period, daily usage in
-- it, or none needed for a fixed fee) that already have a bill of the service starting in the period.
DROP FUNCTION IF EXISTS meterline_count_run_skips(date, date);  -- schema version 2: readings of flats only
CREATE OR REPLACE FUNCTION meterline_count_run_skips(p_start date, p_end date, p_service text DEFAULT 'electricity',
                                                     p_source text DEFAULT 'readings', p_area bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT count(*)
    FROM accounts a JOIN service_connections sc ON sc.account_id = a.id AND sc.service = p_service
   WHERE a.is_active AND sc.is_active AND (sc.started_on IS NULL OR sc.started_on <= p_end)
     AND EXISTS (SELECT 1 FROM bills b WHERE b.account_id = a.id AND b.service = p_service
                                         AND b.billing_period_start BETWEEN p_start AND p_end)
     AND (p_source <> 'readings' OR EXISTS (
           SELECT 1 FROM meters m JOIN readings r ON r.meter_id = m.id
            WHERE m.account_id = a.id AND r.status = 'approved' AND r.reading_date BETWEEN p_start AND p_end))
     AND (p_source <> 'usage' OR EXISTS (
           SELECT 1 FROM daily_usage u WHERE u.account_id = a.id AND u.usage_date BETWEEN p_start AND p_end))
     AND (p_area IS NULL OR a.area_id IN (SELECT meterline_area_subtree(p_area)))
$$;

-- The next p_limit accounts by id after p_after (under p_area when given): each active one with an
-- active connection to p_service and no bill of it starting in the period is a candidate, by the
-- plan's quantity source p_source (services/billing/pricing.py):
--   'readings': it has an approved reading dated in the period that no bill covers; "tail" holds its
--               readings (approved or pending, not covered) after each meter's last billed reading,
--               dated up to the period end (Python decides what the bill covers: coverage.run_chain);
--   'usage':    it has unbilled daily usage up to the period end (from the day after its last billed day:
--               usage that came after its month's run is billed by the next); "usage" holds the sum
--               {first_date, last_date, days, quantity, since: the first day its bill charges};
--   'none':     a fixed fee: every such account.
-- Plus those accounts' open bills of the service. Returns {"upper": the last account id looked at or
-- null when none are left, "candidates": [...], "open_bills": [...]}; amounts and quantities as text.
DROP FUNCTION IF EXISTS meterline_bill_run_candidates(date, date, bigint, integer);  -- schema version 2
CREATE OR REPLACE FUNCTION meterline_bill_run_candidates(p_start date, p_end date, p_service text, p_source text,
                                                         p_area bigint, p_after bigint, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_upper bigint;
  v_candidates jsonb;
BEGIN
  IF p_source NOT IN ('readings', 'usage', 'none') THEN
    PERFORM meterline_invalid('source', format('%s is not a quantity source.', p_source),
                              'Use readings, usage or none (services/billing/pricing.py).');
  END IF;
  SELECT max(w.id) INTO v_upper
    FROM (SELECT a.id FROM accounts a
           WHERE a.id > p_after AND (p_area IS NULL OR a.area_id IN (SELECT meterline_area_subtree(p_area)))
           ORDER BY a.id LIMIT p_limit) w;
  IF v_upper IS NULL THEN
    RETURN jsonb_build_object('upper', NULL, 'candidates', '[]'::jsonb, 'open_bills', '[]'::jsonb);
  END IF;
  WITH win AS MATERIALIZED (  -- the window's billable accounts
    SELECT a.id AS account_id, a.code, a.category, a.account_type, a.area_id, sc.tariff_plan_id
      FROM accounts a JOIN service_connections sc ON sc.account_id = a.id AND sc.service = p_service
     WHERE a.id > p_after AND a.id <= v_upper AND a.is_active AND sc.is_active
       AND (sc.started_on IS NULL OR sc.started_on <= p_end)  -- billed from the month it starts, never before
       AND (p_area IS NULL OR a.area_id IN (SELECT meterline_area_subtree(p_area)))
       -- The window is repeated on bills so the (account_id, status) index bounds the look.
       AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.account_id = a.id AND b.account_id > p_after
                          AND b.account_id <= v_upper AND b.service = p_service
                          AND b.billing_period_start BETWEEN p_start AND p_end)
  ), lm AS (  -- 'readings': their meters, each with its last billed reading
    SELECT m.id AS meter_id, m.account_id,
           (SELECT r2.id FROM readings r2
             WHERE r2.meter_id = m.id
               AND EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r2.id AND x.superseded_by IS NULL)
             ORDER BY r2.reading_date DESC, r2.id DESC LIMIT 1) AS last_id
      FROM meters m JOIN win w ON w.account_id = m.account_id
     WHERE p_source = 'readings'
  ), tail AS (
    SELECT lm.account_id, r.id, r.meter_id, r.reading_date, r.status, r.approved_units, r.consumption,
           r.motor_share, r.motor_reading_id
      FROM lm JOIN readings r ON r.meter_id = lm.meter_id
      LEFT JOIN readings lr ON lr.id = lm.last_id
     WHERE r.status IN ('approved', 'pending') AND r.reading_date <= p_end
       AND (lr.id IS NULL OR (r.reading_date, r.id) > (lr.reading_date, lr.id))
       AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
  ), billed AS (  -- 'usage': the first day each bill charges: the day after the account's last billed usage day
    -- (bills that stand), else the period start or its first estimated bill's, whichever is earlier
    -- (services/billing/estimates.first_unbilled_day)
    SELECT w.account_id, COALESCE(
             (SELECT max(b.usage_to) + 1 FROM bills b
               WHERE b.account_id = w.account_id AND b.service = p_service AND b.status <> 'superseded'),
             (SELECT LEAST(min(b.billing_period_start), p_start) FROM bills b
               WHERE b.account_id = w.account_id AND b.service = p_service
                 AND b.status NOT IN ('superseded', 'cancelled') AND (b.tariff_details -> 'estimate') IS NOT NULL
                 AND (b.tariff_details #>> '{estimate,estimated}') = 'true'),
             p_start) AS since
      FROM win w WHERE p_source = 'usage'
  ), used AS (  -- 'usage': their unbilled daily usage up to the period end, summed
    SELECT d.account_id, bl.since, min(d.usage_date) AS first_date, max(d.usage_date) AS last_date, count(*) AS days,
           sum(d.quantity)::numeric(14, 2) AS quantity
      FROM daily_usage d JOIN billed bl ON bl.account_id = d.account_id
     WHERE d.usage_date BETWEEN bl.since AND p_end
     GROUP BY d.account_id, bl.since
  ), picked AS (
    SELECT w.* FROM win w
     WHERE CASE p_source
             -- only accounts with an approved reading in the period (billed, waiting or without units)
             WHEN 'readings' THEN EXISTS (SELECT 1 FROM tail t WHERE t.account_id = w.account_id
                                             AND t.status = 'approved' AND t.reading_date BETWEEN p_start AND p_end)
             WHEN 'usage' THEN EXISTS (SELECT 1 FROM used u WHERE u.account_id = w.account_id)
             ELSE true END
  )
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'account_id', p.account_id, 'account_code', p.code, 'category', p.category,
           'account_type', p.account_type, 'area_id', p.area_id, 'tariff_plan_id', p.tariff_plan_id,
           'tail', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                      'reading_id', t.id, 'meter_id', t.meter_id, 'reading_date', t.reading_date, 'status', t.status,
                      'approved_units', t.approved_units::text, 'consumption', t.consumption::text,
                      'motor_share', t.motor_share::text, 'motor_reading_id', t.motor_reading_id)
                      ORDER BY t.reading_date, t.id) FROM tail t WHERE t.account_id = p.account_id), '[]'::jsonb),
           'usage', (SELECT jsonb_build_object('first_date', u.first_date, 'last_date', u.last_date, 'days', u.days,
                                               'quantity', u.quantity::text, 'since', u.since)
                       FROM used u WHERE u.account_id = p.account_id)) ORDER BY p.account_id), '[]'::jsonb)
    INTO v_candidates
    FROM picked p;
  RETURN jsonb_build_object(
    'upper', v_upper,
    'candidates', v_candidates,
    'open_bills', COALESCE((
      SELECT jsonb_agg(jsonb_build_object('account_id', b.account_id, 'id', b.id, 'total_amount', b.total_amount::text,
                                          'amount_paid', b.amount_paid::text) ORDER BY b.id)
        FROM bills b
       WHERE b.account_id IN (SELECT (c->>'account_id')::bigint FROM jsonb_array_elements(v_candidates) AS c)
         AND b.service = p_service AND b.status IN ('pending', 'partially_paid', 'overdue')), '[]'::jsonb));
END $$;

-- meterline_dashboard and meterline_monthly_series: database/supabase/85_functions_bill_totals.sql
