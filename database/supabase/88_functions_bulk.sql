-- Bulk activation/deactivation of accounts with one audit entry (services/storage/sql_bulk.py).
CREATE OR REPLACE FUNCTION meterline_set_accounts_active(p_ids bigint[], p_active boolean, p_reason text, p_actor jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_changed integer;
  v_ids bigint[] := ARRAY(SELECT DISTINCT x FROM unnest(COALESCE(p_ids, '{}')) AS x);
BEGIN
  UPDATE accounts SET is_active = p_active, updated_at = now()
   WHERE id = ANY (v_ids) AND is_active IS DISTINCT FROM p_active;
  GET DIAGNOSTICS v_changed = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'bulk.accounts_active', 'account', NULL, jsonb_build_object(
    'active', p_active, 'requested', cardinality(v_ids), 'changed', v_changed, 'reason', p_reason,
    'ids', to_jsonb(v_ids[1:100])));
  RETURN v_changed;
END $$;
