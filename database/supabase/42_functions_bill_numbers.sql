-- Gapless bill numbers (database/bill_numbers.py): BC-2026-000123, one counter row per series
-- ("BC-2026": the utility's short code and the year of issue) in bill_number_series. A bill takes
-- its number in the transaction that stores it (meterline_insert_bill, meterline_insert_bill_batch);
-- the upsert holds the counter row's lock until commit, and a rolled-back call gives its numbers back.

-- Reserve the next p_n numbers of a series; returns the last one (the first is last - p_n + 1).
CREATE OR REPLACE FUNCTION meterline_take_bill_numbers(p_series text, p_n bigint)
RETURNS bigint LANGUAGE sql SET search_path = public, pg_temp AS $$
  INSERT INTO bill_number_series (series, last_number) VALUES (p_series, p_n)
  ON CONFLICT (series) DO UPDATE SET last_number = bill_number_series.last_number + excluded.last_number
  RETURNING last_number
$$;

-- SERIES-000123: at least six digits, never cut (a series past 999,999 goes on with seven).
CREATE OR REPLACE FUNCTION meterline_format_bill_number(p_series text, p_n bigint)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT p_series || '-' || CASE WHEN length(p_n::text) >= 6 THEN p_n::text ELSE lpad(p_n::text, 6, '0') END
$$;

-- The series of a bill stored without one: the utility's short code and this year (UTC).
CREATE OR REPLACE FUNCTION meterline_default_bill_series()
RETURNS text LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE((SELECT short_code FROM utility_settings WHERE id = 1), 'BC') || '-'
         || to_char(now() AT TIME ZONE 'UTC', 'YYYY')
$$;

-- Bills stored before numbers existed (an upgraded project): numbered per year of creation (UTC),
-- in id order, continuing each series. A no-op when every bill has a number.
DO $numbers$
DECLARE
  v_code text := COALESCE((SELECT short_code FROM utility_settings WHERE id = 1), 'BC');
  v record;
  v_last bigint;
BEGIN
  FOR v IN SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY') AS y, count(*) AS n
             FROM bills WHERE bill_number IS NULL GROUP BY 1 ORDER BY 1 LOOP
    v_last := meterline_take_bill_numbers(v_code || '-' || v.y, v.n);
    UPDATE bills SET bill_number = meterline_format_bill_number(v_code || '-' || v.y, x.n)
      FROM (SELECT id, v_last - v.n + row_number() OVER (ORDER BY id) AS n FROM bills
             WHERE bill_number IS NULL AND to_char(created_at AT TIME ZONE 'UTC', 'YYYY') = v.y) AS x
     WHERE bills.id = x.id;
  END LOOP;
END $numbers$;
