-- Tamper-evident bills on Supabase (issue 20, docs/trust.md): the hash chain of database/bill_chain.py.
-- The app server writes each bill's canonical content (bill_chain.canonical, from the bill as stored,
-- read back) and this function chains it: hash = sha256(prev_hash || '\n' || content), appended after
-- the chain head under the advisory lock the SQL backends take (bill_chain._PG_LOCK_KEY), so the
-- chain has one order whoever seals. `python -m scripts.verify_chain` on the project's database walks
-- it as on PostgreSQL. The REST backend seals right after the call that stored the bills (a separate
-- transaction): a bill whose sealing call failed shows as unsealed (verify_chain names it) until
-- meterline_unsealed_bills + this function seal it (SupabaseStorage.seal_unsealed_bills).

CREATE OR REPLACE FUNCTION meterline_seal_bills(p_items jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_seq bigint := 0;
  v_hash text := repeat('0', 64);
  v_sealed integer := 0;
  it record;
BEGIN
  PERFORM pg_advisory_xact_lock(7460020);
  SELECT seq, hash INTO v_seq, v_hash FROM bill_seals ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    v_seq := 0;
    v_hash := repeat('0', 64);
  END IF;
  FOR it IN SELECT (e->>'bill_id')::bigint AS bill_id, e->>'content' AS content
              FROM jsonb_array_elements(COALESCE(p_items, '[]'::jsonb)) AS e
             ORDER BY (e->>'bill_id')::bigint LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM bill_seals WHERE bill_id = it.bill_id);  -- a retry: sealed already
    IF NOT EXISTS (SELECT 1 FROM bills WHERE id = it.bill_id) THEN
      PERFORM meterline_not_found(format('Bill %s does not exist.', it.bill_id));
    END IF;
    v_seq := v_seq + 1;
    INSERT INTO bill_seals (seq, bill_id, prev_hash, hash, sealed_at)
    VALUES (v_seq, it.bill_id, v_hash, encode(sha256(convert_to(v_hash || E'\n' || it.content, 'UTF8')), 'hex'), now())
    RETURNING hash INTO v_hash;
    v_sealed := v_sealed + 1;
  END LOOP;
  RETURN jsonb_build_object('seq', v_seq, 'hash', v_hash, 'sealed', v_sealed);
END $$;

-- Bills without a seal, by id after p_after (keyset pages: a whole-table walk is done page by page).
CREATE OR REPLACE FUNCTION meterline_unsealed_bills(p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM (
    SELECT b.id FROM bills b
     WHERE b.id > p_after AND NOT EXISTS (SELECT 1 FROM bill_seals s WHERE s.bill_id = b.id)
     ORDER BY b.id LIMIT p_limit) x
$$;

-- The chain head an outside party keeps (bill_chain.ChainHead.export).
CREATE OR REPLACE FUNCTION meterline_bill_chain_head() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE((SELECT jsonb_build_object('seq', seq, 'hash', hash, 'bill_id', bill_id)
                     FROM bill_seals ORDER BY seq DESC LIMIT 1),
                  jsonb_build_object('seq', 0, 'hash', repeat('0', 64), 'bill_id', NULL))
$$;
