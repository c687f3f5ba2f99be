-- Water (issue 13): daily usage stored all or nothing with the register readings it comes from,
-- usage history per account, usage anomaly detection (set-based), the anomaly review, and contact
-- edits. The SQL backend's twins are services/storage/sql_usage.py and sql_anomalies.py; the same
-- contract tests run on both (tests/contract/test_water_usage.py, test_anomalies.py).

-- Store a batch of daily usage (Storage.store_usage): approve a pending reading with it, store the
-- batch's register readings chained per meter, then the rows; refuse a locked month, a billed day or
-- a day that has usage already, writing nothing. p_batch: {"approve_reading_id", "approve_consumption",
-- "readings": [BatchReading], "rows": [NewUsage]}; p_details: the usage.store audit details Python
-- built; p_reading_details: the reading.submit details per batch reading. Returns the rows stored.
CREATE OR REPLACE FUNCTION meterline_store_usage(p_batch jsonb, p_actor jsonb, p_details jsonb,
                                                 p_reading_details jsonb, p_now timestamptz)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_rid bigint := (p_batch->>'approve_reading_id')::bigint;
  v_meter bigint;
  v_status text;
  v_n integer;
  v_ids bigint[] := '{}';
  v_last jsonb := '{}'::jsonb;
  v_prev bigint;
  v_latest readings;
  x record;
  v_id bigint;
  v_month text;
  v_code text;
  v_day date;
  v_billed date;
  v_first date;
  v_lastday date;
BEGIN
  IF v_rid IS NOT NULL THEN
    SELECT meter_id INTO v_meter FROM readings WHERE id = v_rid;
    IF v_meter IS NULL THEN
      PERFORM meterline_not_found(format('Reading %s does not exist.', v_rid));
    END IF;
    PERFORM 1 FROM meters WHERE id = v_meter FOR UPDATE;
    UPDATE readings SET status = 'approved', reviewed_by = (p_actor->>'user_id')::bigint, reviewed_at = p_now,
                        updated_at = p_now
     WHERE id = v_rid AND status = 'pending'
       AND consumption IS NOT DISTINCT FROM (p_batch->>'approve_consumption')::numeric;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN
      SELECT status INTO v_status FROM readings WHERE id = v_rid;
      PERFORM meterline_conflict(format('Reading %s is %s and ', v_rid, v_status) || CASE WHEN v_status = 'pending'
        THEN 'was re-measured meanwhile; open it again.' ELSE 'only pending readings can be reviewed.' END);
    END IF;
    PERFORM meterline_audit(p_actor, 'reading.approve', 'reading', v_rid::text,
                            jsonb_build_object('usage_rows', jsonb_array_length(p_batch->'rows')));
  END IF;

  FOR x IN SELECT e.value AS v, e.ordinality AS i
             FROM jsonb_array_elements(COALESCE(p_batch->'readings', '[]'::jsonb)) WITH ORDINALITY e LOOP
    IF NOT v_last ? (x.v->>'meter_id') THEN
      PERFORM 1 FROM meters WHERE id = (x.v->>'meter_id')::bigint FOR UPDATE;
      SELECT * INTO v_latest FROM readings WHERE meter_id = (x.v->>'meter_id')::bigint AND status <> 'rejected'
       ORDER BY reading_date DESC, id DESC LIMIT 1;
      IF v_latest.id IS DISTINCT FROM (x.v->>'previous_reading_id')::bigint THEN
        PERFORM meterline_conflict(format('Meter #%s has a reading stored meanwhile (#%s of %s); check the file '
          'against it and import it again.', x.v->>'meter_id', v_latest.id, v_latest.reading_date));
      END IF;
      v_prev := (x.v->>'previous_reading_id')::bigint;
    ELSE
      v_prev := (v_last->>(x.v->>'meter_id'))::bigint;
    END IF;
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id, source, status,
                          submitted_by, reviewed_by, reviewed_at, created_at, updated_at)
    VALUES ((x.v->>'meter_id')::bigint, (x.v->>'reading_value')::numeric, (x.v->>'reading_date')::date,
            (x.v->>'consumption')::numeric, v_prev, 'import', 'approved', (p_actor->>'user_id')::bigint,
            (p_actor->>'user_id')::bigint, p_now, p_now, p_now)
    RETURNING id INTO v_id;
    PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_id::text, p_reading_details->(x.i::integer - 1));
    v_ids := v_ids || v_id;
    v_last := v_last || jsonb_build_object(x.v->>'meter_id', v_id);
  END LOOP;

  IF jsonb_array_length(COALESCE(p_batch->'rows', '[]'::jsonb)) = 0 THEN
    RETURN 0;
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS meterline_usage_batch (
    n integer, account_id bigint, meter_id bigint, usage_date date, quantity numeric, source text, reading_id bigint
  ) ON COMMIT DROP;
  DELETE FROM meterline_usage_batch;
  INSERT INTO meterline_usage_batch
  SELECT e.ordinality, (e.value->>'account_id')::bigint, (e.value->>'meter_id')::bigint,
         (e.value->>'usage_date')::date, (e.value->>'quantity')::numeric, COALESCE(e.value->>'source', 'import'),
         COALESCE(v_ids[(e.value->>'reading_ref')::integer + 1], (e.value->>'reading_id')::bigint)
    FROM jsonb_array_elements(p_batch->'rows') WITH ORDINALITY e;

  SELECT l.month INTO v_month FROM period_locks l
   WHERE l.month IN (SELECT to_char(usage_date, 'YYYY-MM') FROM meterline_usage_batch) ORDER BY l.month LIMIT 1;
  IF v_month IS NOT NULL THEN
    RAISE EXCEPTION 'PERIOD_LOCKED: billing period % is locked; its usage cannot change. Nothing was stored.', v_month
      USING ERRCODE = 'P0001';
  END IF;
  SELECT a.code, t.usage_date, bl.billed INTO v_code, v_day, v_billed
    FROM meterline_usage_batch t
    JOIN (SELECT b.account_id, max(b.usage_to) AS billed FROM bills b
           WHERE b.account_id IN (SELECT account_id FROM meterline_usage_batch) AND b.usage_to IS NOT NULL
             AND b.status <> 'superseded' GROUP BY b.account_id) bl ON bl.account_id = t.account_id
    JOIN accounts a ON a.id = t.account_id
   WHERE t.usage_date <= bl.billed ORDER BY t.n LIMIT 1;
  IF v_code IS NOT NULL THEN
    PERFORM meterline_conflict(format('%s is billed for its usage up to %s, so usage of %s cannot be added (the '
      'bill would not count it). Nothing was stored.', v_code, v_billed, v_day));
  END IF;
  SELECT a.code, t.usage_date INTO v_code, v_day
    FROM meterline_usage_batch t JOIN accounts a ON a.id = t.account_id
   WHERE EXISTS (SELECT 1 FROM daily_usage u WHERE u.account_id = t.account_id AND u.usage_date = t.usage_date)
      OR EXISTS (SELECT 1 FROM meterline_usage_batch o
                  WHERE o.account_id = t.account_id AND o.usage_date = t.usage_date AND o.n < t.n)
   ORDER BY t.n LIMIT 1;
  IF v_code IS NOT NULL THEN
    PERFORM meterline_conflict(format('%s already has usage for %s: the same water would be counted twice. '
      'Nothing was stored.', v_code, v_day));
  END IF;
  BEGIN
    INSERT INTO daily_usage (account_id, meter_id, usage_date, quantity, source, created_by, created_at, reading_id)
    SELECT account_id, meter_id, usage_date, quantity, source, (p_actor->>'user_id')::bigint, p_now, reading_id
      FROM meterline_usage_batch ORDER BY n;
  EXCEPTION WHEN unique_violation THEN  -- a concurrent import stored one of the days meanwhile
    PERFORM meterline_conflict('Another import stored usage for some of these days meanwhile: the same water '
      'would be counted twice. Nothing was stored.');
  END;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  SELECT min(usage_date), max(usage_date), count(*) INTO v_first, v_lastday, v_n FROM meterline_usage_batch;
  -- Derived rows those days fed are rebuilt by the next detection.
  DELETE FROM usage_day_index WHERE usage_date BETWEEN v_first AND v_lastday;
  DELETE FROM usage_baselines WHERE as_of > v_first;
  PERFORM meterline_audit(p_actor, 'usage.store', 'daily_usage', NULL, p_details);
  RETURN v_n;
END $$;

-- Each account's last billed usage day ([{"account_id", "billed_to"}]; accounts never billed for usage are absent).
CREATE OR REPLACE FUNCTION meterline_usage_billed_to(p_account_ids bigint[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('account_id', t.account_id, 'billed_to', t.billed_to)), '[]'::jsonb)
    FROM (SELECT b.account_id, max(b.usage_to) AS billed_to FROM bills b
           WHERE b.account_id = ANY (p_account_ids) AND b.usage_to IS NOT NULL AND b.status <> 'superseded'
           GROUP BY b.account_id) t
$$;

-- An account's usage per calendar month over [p_start, p_end], oldest first, quantities as text.
CREATE OR REPLACE FUNCTION meterline_usage_months(p_account_id bigint, p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('month', t.month, 'days', t.days, 'quantity', t.quantity::text,
                                                'peak', t.peak::text, 'zero_days', t.zero_days) ORDER BY t.month),
                  '[]'::jsonb)
    FROM (SELECT to_char(u.usage_date, 'YYYY-MM') AS month, count(*) AS days, sum(u.quantity) AS quantity,
                 max(u.quantity) AS peak, sum(CASE WHEN u.quantity = 0 THEN 1 ELSE 0 END) AS zero_days
            FROM daily_usage u WHERE u.account_id = p_account_id AND u.usage_date BETWEEN p_start AND p_end
           GROUP BY 1) t
$$;

-- Accounts flagged per period start and method ([{"period_start", "method", "accounts", "reviewed"}]).
CREATE OR REPLACE FUNCTION meterline_anomaly_counts(p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('period_start', t.period_start, 'method', t.method,
                                                'accounts', t.n, 'reviewed', t.reviewed)
                            ORDER BY t.period_start, t.method), '[]'::jsonb)
    FROM (SELECT period_start, method, count(*) AS n, sum(CASE WHEN status = 'reviewed' THEN 1 ELSE 0 END) AS reviewed
            FROM usage_anomalies WHERE period_start BETWEEN p_start AND p_end GROUP BY period_start, method) t
$$;

-- Record the review of an open anomaly (open -> reviewed); PT409 when reviewed already, PT404 when none.
CREATE OR REPLACE FUNCTION meterline_review_anomaly(p_id bigint, p_outcome text, p_note text, p_actor jsonb,
                                                    p_now timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v usage_anomalies;
BEGIN
  UPDATE usage_anomalies SET status = 'reviewed', outcome = p_outcome, review_note = p_note,
         reviewed_by = (p_actor->>'user_id')::bigint, reviewed_by_name = p_actor->>'username', reviewed_at = p_now
   WHERE id = p_id AND status = 'open';
  IF NOT FOUND THEN
    SELECT * INTO v FROM usage_anomalies WHERE id = p_id;
    IF v.id IS NULL THEN
      PERFORM meterline_not_found(format('Anomaly %s does not exist.', p_id));
    END IF;
    PERFORM meterline_conflict(format('Anomaly %s was reviewed already by %s (%s).', p_id, v.reviewed_by_name,
                                      replace(COALESCE(v.outcome, ''), '_', ' ')));
  END IF;
  PERFORM meterline_audit(p_actor, 'anomaly.review', 'usage_anomaly', p_id::text,
                          jsonb_build_object('outcome', p_outcome, 'note', p_note));
END $$;

-- Change a contact's name, phone, email or address; audited with the old and new value of each
-- field that changed. PT404 when there is none.
CREATE OR REPLACE FUNCTION meterline_update_contact(p_id bigint, p_values jsonb, p_actor jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old jsonb;
  v_changed jsonb := '{}'::jsonb;
  f text;
BEGIN
  SELECT to_jsonb(o) INTO v_old FROM contacts o WHERE id = p_id FOR UPDATE;
  IF v_old IS NULL THEN
    PERFORM meterline_not_found(format('Contact %s does not exist.', p_id));
  END IF;
  FOREACH f IN ARRAY ARRAY['name', 'phone', 'email', 'address'] LOOP
    IF p_values ? f AND (v_old->f) IS DISTINCT FROM (p_values->f) THEN
      v_changed := v_changed || jsonb_build_object(f, jsonb_build_object('old', v_old->f, 'new', p_values->f));
    END IF;
  END LOOP;
  IF v_changed <> '{}'::jsonb THEN
    UPDATE contacts SET name = CASE WHEN v_changed ? 'name' THEN p_values->>'name' ELSE name END,
                        phone = CASE WHEN v_changed ? 'phone' THEN p_values->>'phone' ELSE phone END,
                        email = CASE WHEN v_changed ? 'email' THEN p_values->>'email' ELSE email END,
                        address = CASE WHEN v_changed ? 'address' THEN p_values->>'address' ELSE address END
     WHERE id = p_id;
    PERFORM meterline_audit(p_actor, 'contact.update', 'contact', p_id::text, v_changed);
  END IF;
END $$;

-- Usage anomaly detection over [p_start, p_end], the PL/pgSQL twin of
-- services/storage/sql_anomalies.py (the same statements, generated from its SQL; keep them in step):
-- the day index for missing days, the baselines, the period's rows once (meterline_detect_period), then
-- one INSERT ... SELECT per method.
-- p_accounts limits the work to those accounts (NULL: every account), as the SQL backend's accounts=.
-- p_binds: the DetectionParams values ({"baseline_days", "min_history_days", "k", ...}); p_params:
-- what is stored with each anomaly. Returns {method: anomalies added}.
DROP FUNCTION IF EXISTS meterline_detect_usage_anomalies(date, date, jsonb, jsonb, jsonb, timestamptz);  -- no p_accounts
CREATE OR REPLACE FUNCTION meterline_detect_usage_anomalies(p_start date, p_end date, p_binds jsonb, p_params jsonb,
                                                            p_actor jsonb, p_now timestamptz,
                                                            p_accounts bigint[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_start date := p_start;
  v_end date := p_end;
  v_window integer := (p_binds->>'baseline_days')::integer;
  v_h0 date := p_start - (p_binds->>'baseline_days')::integer;
  v_h1 date := p_start - 1;
  v_min_days integer := (p_binds->>'min_history_days')::integer;
  v_k numeric := (p_binds->>'k')::numeric;
  v_robust numeric := (p_binds->>'robust_threshold')::numeric;
  v_high_factor numeric := (p_binds->>'high_factor')::numeric;
  v_high_floor numeric := (p_binds->>'high_floor')::numeric;
  v_flow_days integer := (p_binds->>'flow_days')::integer;
  v_flow_factor numeric := (p_binds->>'flow_factor')::numeric;
  v_flow_floor numeric := (p_binds->>'flow_floor')::numeric;
  v_zero_min_mean numeric := (p_binds->>'zero_min_mean')::numeric;
  v_zero_min_days integer := (p_binds->>'zero_min_days')::integer;
  v_params text := p_params::text;
  v_now timestamptz := p_now;
  v_actor text := COALESCE(p_actor->>'username', 'system');
  v_methods text[] := ARRAY(SELECT jsonb_array_elements_text(p_binds->'methods'));
  v_method text;
  v_n integer;
  v_counts jsonb := '{}'::jsonb;
BEGIN
  INSERT INTO usage_day_index (account_type, usage_date, accounts, mean)
  SELECT COALESCE(a.account_type, ''), u.usage_date, count(*), round(avg(u.quantity), 6)
    FROM daily_usage u JOIN accounts a ON a.id = u.account_id
   WHERE a.is_active
     AND u.usage_date IN (SELECT g::date FROM generate_series(v_h0, v_end, interval '1 day') g  -- days without
                           WHERE NOT EXISTS (SELECT 1 FROM usage_day_index x WHERE x.usage_date = g::date))
   GROUP BY COALESCE(a.account_type, ''), u.usage_date;
  EXECUTE $q$
    INSERT INTO usage_baselines (account_id, as_of, window_days, days, mean, sd, median, mad, adj_median, adj_mad)
    WITH targets AS (
      SELECT DISTINCT u.account_id FROM daily_usage u
       WHERE u.usage_date BETWEEN $1 AND $2 AND ($6::bigint[] IS NULL OR u.account_id = ANY ($6))
         AND NOT EXISTS (SELECT 1 FROM usage_baselines x
                          WHERE x.account_id = u.account_id AND x.as_of = $1 AND x.window_days = $3)
    ), h AS (
      SELECT u.account_id, u.quantity AS q,
             CASE WHEN ix.mean > 0 THEN u.quantity / ix.mean END AS r
        FROM daily_usage u
        JOIN targets t ON t.account_id = u.account_id
        JOIN accounts ac ON ac.id = u.account_id
        LEFT JOIN usage_day_index ix ON ix.account_type = COALESCE(ac.account_type, '') AND ix.usage_date = u.usage_date
       WHERE u.usage_date BETWEEN $4 AND $5
    ), st AS (
      SELECT account_id, COUNT(*) AS n, AVG(q) AS mean, SUM(q * q) AS ss, (percentile_disc(0.5) WITHIN GROUP (ORDER BY q) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY q)) / 2 AS med,
             COUNT(r) AS rn, (percentile_disc(0.5) WITHIN GROUP (ORDER BY r) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY r)) / 2 AS amed
        FROM h GROUP BY account_id HAVING COUNT(*) >= 2
    ), dev AS (
      SELECT h.account_id, (percentile_disc(0.5) WITHIN GROUP (ORDER BY ABS(h.q - st.med)) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY ABS(h.q - st.med))) / 2 AS mad, (percentile_disc(0.5) WITHIN GROUP (ORDER BY ABS(h.r - st.amed)) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY ABS(h.r - st.amed))) / 2 AS amad
        FROM h JOIN st ON st.account_id = h.account_id GROUP BY h.account_id
    )
    SELECT st.account_id, $1, $3, st.n, ROUND(st.mean, 4),
           ROUND(CASE WHEN (st.ss - st.n * st.mean * st.mean) > 0
                      THEN SQRT((st.ss - st.n * st.mean * st.mean) / (st.n - 1)) ELSE 0 END, 4),
           ROUND(st.med, 4), ROUND(dev.mad, 4),
           CASE WHEN st.rn >= 2 THEN ROUND(st.amed, 4) END, CASE WHEN st.rn >= 2 THEN ROUND(dev.amad, 4) END
      FROM st JOIN dev ON dev.account_id = st.account_id
  $q$ USING v_start, v_end, v_window, v_h0, v_h1, p_accounts;
  -- The period's rows joined once to their baseline and day index; every method reads them.
  DROP TABLE IF EXISTS pg_temp.meterline_detect_period;
  CREATE TEMP TABLE meterline_detect_period (account_id bigint, usage_date date, q numeric, is_active boolean,
    area_id bigint, days integer, mean numeric, sd numeric, median numeric, mad numeric, adj_median numeric,
    adj_mad numeric, ix numeric) ON COMMIT DROP;
  INSERT INTO meterline_detect_period
  SELECT u.account_id, u.usage_date, u.quantity, ac.is_active, ac.area_id,
         bl.days, bl.mean, bl.sd, bl.median, bl.mad, bl.adj_median, bl.adj_mad, ix.mean
    FROM daily_usage u
    JOIN accounts ac ON ac.id = u.account_id
    LEFT JOIN usage_baselines bl ON bl.account_id = u.account_id AND bl.as_of = v_start AND bl.window_days = v_window
    LEFT JOIN usage_day_index ix ON ix.account_type = COALESCE(ac.account_type, '') AND ix.usage_date = u.usage_date
   WHERE u.usage_date BETWEEN v_start AND v_end AND (p_accounts IS NULL OR u.account_id = ANY (p_accounts));
  ANALYZE meterline_detect_period;
  -- zscore
  IF 'zscore' = ANY (v_methods) THEN
    v_method := 'zscore';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread, (q - mean) / sd AS score,
                   (q - mean) / sd AS rank_score, days, area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND sd > 0 AND q > mean + $6 * sd), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($7 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($8 AS JSONB), $9, $10, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($7 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_k, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('zscore', v_n);
  END IF;
  -- robust
  IF 'robust' = ANY (v_methods) THEN
    v_method := 'robust';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, adj_median * ix AS baseline, adj_mad * ix AS spread,
                   0.6745 * (q / ix - adj_median) / adj_mad AS score, 0.6745 * (q / ix - adj_median) / adj_mad AS rank_score,
                   days, area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND adj_mad > 0 AND ix > 0
               AND 0.6745 * (q / ix - adj_median) / adj_mad > $6), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($7 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($8 AS JSONB), $9, $10, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($7 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_robust, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('robust', v_n);
  END IF;
  -- high_read
  IF 'high_read' = ANY (v_methods) THEN
    v_method := 'high_read';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread, q / mean AS score,
                   q / mean AS rank_score, days, area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND mean > 0 AND q > $6 * mean AND q - mean >= $7), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($8 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($9 AS JSONB), $10, $11, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($8 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_high_factor, v_high_floor, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('high_read', v_n);
  END IF;
  -- continuous_flow
  IF 'continuous_flow' = ANY (v_methods) THEN
    v_method := 'continuous_flow';
    EXECUTE format($q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, low AS usage, median AS baseline, mad AS spread, low / median AS score,
                   low / median AS rank_score, days, area_id
              FROM (SELECT p.*, MIN(q) OVER w AS low, COUNT(*) OVER w AS cnt, MIN(usage_date) OVER w AS first_day
                      FROM p WHERE p.is_active = $4 AND p.days >= $5 AND median > 0
                       AND q >= CASE WHEN $7 * median > $8 THEN $7 * median ELSE $8 END
                    WINDOW w AS (PARTITION BY account_id ORDER BY usage_date
                                 ROWS BETWEEN %s PRECEDING AND CURRENT ROW)) f
             WHERE cnt = $6 AND (usage_date - first_day) = $6 - 1), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($9 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($10 AS JSONB), $11, $12, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($9 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$, v_flow_days - 1) USING v_start, v_window, v_end, true, v_min_days, v_flow_days, v_flow_factor, v_flow_floor, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('continuous_flow', v_n);
  END IF;
  -- zero_usage
  IF 'zero_usage' = ANY (v_methods) THEN
    v_method := 'zero_usage';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, MIN(usage_date) AS usage_date, 0 AS usage, MAX(mean) AS baseline, MAX(sd) AS spread,
                   COUNT(*) AS score, COUNT(*) AS rank_score, MAX(days) AS days, MAX(area_id) AS area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND q = 0 AND mean >= $6
             GROUP BY account_id HAVING COUNT(*) >= $7), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($8 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($9 AS JSONB), $10, $11, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($8 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_zero_min_mean, v_zero_min_days, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('zero_usage', v_n);
  END IF;
  -- inactive_usage
  IF 'inactive_usage' = ANY (v_methods) THEN
    v_method := 'inactive_usage';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread,
                   SUM(q) OVER (PARTITION BY account_id) AS score, q AS rank_score, COALESCE(days, 0) AS days, area_id
              FROM p WHERE p.is_active = $4 AND q > 0), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($5 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($6 AS JSONB), $7, $8, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($5 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, false, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('inactive_usage', v_n);
  END IF;

  PERFORM meterline_audit(p_actor, 'usage.detect', 'usage_anomalies', NULL, jsonb_build_object(
    'period_start', p_start, 'period_end', p_end, 'found', v_counts, 'params', p_params)
    || CASE WHEN p_accounts IS NULL THEN '{}'::jsonb
            ELSE jsonb_build_object('accounts', (SELECT count(DISTINCT x) FROM unnest(p_accounts) x)) END);
  RETURN v_counts;
END $$;
