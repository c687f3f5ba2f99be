-- Meter photos' perceptual hashes (issue 20, docs/trust.md): the PL/pgSQL twins of
-- services/storage/sql_photo_hashes.py. The table and its four band indexes come from database/schema.py.
--
-- photo_hashes has no staff policy (database/supabase_scopes.py): staff never read it directly. The
-- lookup is a security definer function that applies the reader's scope itself, from the same request
-- headers row level security reads (80_scopes.sql): the checked photo's meter must be in scope (a
-- customer gets nothing), and a match on a meter outside the scope comes back hidden: its date and hash
-- only, never its meter, account, reading or photo.

-- The print of a reading's photo; the bands are cut from the hash here (the first 4 hex digits are band 0).
-- A repeat for the same reading keeps the first print.
CREATE OR REPLACE FUNCTION meterline_record_photo_print(p_reading_id bigint, p_meter_id bigint, p_reading_date date,
    p_phash text, p_taken_at timestamp, p_photo_ref text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF p_phash IS NULL OR p_phash !~ '^[0-9a-f]{16}$' THEN
    PERFORM meterline_invalid('phash', 'must be 16 lowercase hex digits (a 64-bit perceptual hash)',
                              'store the hash services/photo_checks.py computes');
  END IF;
  INSERT INTO photo_hashes (reading_id, meter_id, reading_date, phash, band0, band1, band2, band3, taken_at, photo_ref)
  VALUES (p_reading_id, p_meter_id, p_reading_date, p_phash,
          ('x' || substr(p_phash, 1, 4))::bit(16)::int, ('x' || substr(p_phash, 5, 4))::bit(16)::int,
          ('x' || substr(p_phash, 9, 4))::bit(16)::int, ('x' || substr(p_phash, 13, 4))::bit(16)::int,
          p_taken_at, p_photo_ref)
  ON CONFLICT (reading_id) DO NOTHING;
END $$;

-- The checked photo and the stored photos within p_max_distance bits of it: four band index probes
-- (UNION ALL, at most p_per_band rows each), then the exact distance. NULL when the reading has no
-- print or is not the reader's to check. The reuse rule, order and wording are services/photo_checks.py's.
CREATE OR REPLACE FUNCTION meterline_photo_candidates(p_reading_id bigint, p_max_distance integer DEFAULT 3,
    p_per_band integer DEFAULT 2000) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_scoped boolean := meterline_scope_paths() IS NOT NULL;
  v_areas bigint[] := meterline_scope_area_ids();
  mine photo_hashes%ROWTYPE;
BEGIN
  IF meterline_scope_account_ids() IS NOT NULL THEN
    RETURN NULL;  -- a customer: photo findings are a reviewer's tool
  END IF;
  SELECT * INTO mine FROM photo_hashes WHERE reading_id = p_reading_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_scoped AND NOT EXISTS (SELECT 1 FROM meters m JOIN accounts a ON a.id = m.account_id
                               WHERE m.id = mine.meter_id AND a.area_id = ANY (v_areas)) THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object(
    'meter_id', mine.meter_id, 'reading_date', mine.reading_date, 'phash', mine.phash, 'taken_at', mine.taken_at,
    'candidates', COALESCE((
      SELECT jsonb_agg(CASE WHEN s.shown
                            THEN jsonb_build_object('reading_id', c.reading_id, 'meter_id', c.meter_id,
                                                    'reading_date', c.reading_date, 'phash', c.phash,
                                                    'photo_ref', c.photo_ref, 'meter_number', s.meter_number,
                                                    'account_code', s.code)
                            ELSE jsonb_build_object('reading_date', c.reading_date, 'phash', c.phash) END)
        FROM (SELECT DISTINCT ON (u.reading_id) u.*
                FROM ((SELECT * FROM photo_hashes WHERE band0 = mine.band0 AND reading_id <> p_reading_id LIMIT p_per_band)
                      UNION ALL
                      (SELECT * FROM photo_hashes WHERE band1 = mine.band1 AND reading_id <> p_reading_id LIMIT p_per_band)
                      UNION ALL
                      (SELECT * FROM photo_hashes WHERE band2 = mine.band2 AND reading_id <> p_reading_id LIMIT p_per_band)
                      UNION ALL
                      (SELECT * FROM photo_hashes WHERE band3 = mine.band3 AND reading_id <> p_reading_id LIMIT p_per_band)) u
               WHERE bit_count(('x' || u.phash)::bit(64) # ('x' || mine.phash)::bit(64)) <= p_max_distance) c
        CROSS JOIN LATERAL (
          SELECT m.meter_number, a.code,
                 (NOT v_scoped OR COALESCE(a.area_id = ANY (v_areas), false)) AS shown
            FROM meters m LEFT JOIN accounts a ON a.id = m.account_id
           WHERE m.id = c.meter_id) s),
      '[]'::jsonb));
END $$;
