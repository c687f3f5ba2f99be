-- PSIDs: the 17-digit payment id a bank collects a bill by (services/billing/psid.py, the same
-- format: biller code 14, the year and month the period ends in, the bill id in ten digits, a
-- Verhoeff check digit). meterline_insert_bill and meterline_insert_bill_batch give every bill its
-- PSID as they store it; a test checks these functions give what Python gives.

CREATE OR REPLACE FUNCTION meterline_verhoeff(p_digits text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = public, pg_temp AS $$
DECLARE
  d int[] := '{{0,1,2,3,4,5,6,7,8,9},{1,2,3,4,0,6,7,8,9,5},{2,3,4,0,1,7,8,9,5,6},{3,4,0,1,2,8,9,5,6,7},'
             '{4,0,1,2,3,9,5,6,7,8},{5,9,8,7,6,0,4,3,2,1},{6,5,9,8,7,1,0,4,3,2},{7,6,5,9,8,2,1,0,4,3},'
             '{8,7,6,5,9,3,2,1,0,4},{9,8,7,6,5,4,3,2,1,0}}';
  p int[] := '{{0,1,2,3,4,5,6,7,8,9},{1,5,7,6,2,8,3,0,9,4},{5,8,0,3,7,9,6,1,4,2},{8,9,1,6,0,4,3,5,2,7},'
             '{9,4,5,3,1,2,6,8,7,0},{4,2,8,6,5,7,3,9,0,1},{2,7,9,3,8,0,6,4,1,5},{7,0,4,6,9,1,3,2,5,8}}';
  inv int[] := '{0,4,3,2,1,5,6,7,8,9}';
  c int := 0;
  n int := length(p_digits);
BEGIN
  FOR i IN 1..n LOOP  -- the i-th digit from the right
    c := d[c + 1][p[(i % 8) + 1][substr(p_digits, n - i + 1, 1)::int + 1] + 1];
  END LOOP;
  RETURN inv[c + 1]::text;
END $$;

CREATE OR REPLACE FUNCTION meterline_psid(p_id bigint, p_period_end date) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = public, pg_temp AS $$
DECLARE
  v_body text := '14' || to_char(p_period_end, 'YYMM') || lpad(p_id::text, 10, '0');
BEGIN
  IF p_id <= 0 OR p_id > 9999999999 THEN
    RAISE EXCEPTION 'bill id % does not fit a PSID''s ten digits', p_id;
  END IF;
  RETURN v_body || meterline_verhoeff(v_body);
END $$;
