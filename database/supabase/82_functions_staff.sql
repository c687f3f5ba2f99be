-- The areas each staff member works in (services/storage/sql_staff.py; table user_areas).

CREATE OR REPLACE FUNCTION meterline_user_areas(p_user_id bigint) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(to_jsonb(a) ORDER BY a.sort_order, a.path), '[]'::jsonb)
    FROM user_areas ua JOIN areas a ON a.id = ua.area_id
   WHERE ua.user_id = p_user_id
$$;

-- Replace a user's whole assignment, with its audit entry, in one transaction.
CREATE OR REPLACE FUNCTION meterline_set_user_areas(p_user_id bigint, p_area_ids bigint[], p_actor jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_missing bigint;
  v_before jsonb;
  v_after jsonb;
BEGIN
  PERFORM 1 FROM users WHERE id = p_user_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('User %s does not exist.', p_user_id));
  END IF;
  SELECT x INTO v_missing FROM unnest(COALESCE(p_area_ids, '{}')) AS x WHERE NOT EXISTS (SELECT 1 FROM areas WHERE id = x) LIMIT 1;
  IF v_missing IS NOT NULL THEN
    PERFORM meterline_invalid('areas', format('Area %s does not exist.', v_missing), 'Pick the areas from the list.');
  END IF;
  SELECT COALESCE(jsonb_agg(a.path ORDER BY a.path), '[]'::jsonb) INTO v_before
    FROM user_areas ua JOIN areas a ON a.id = ua.area_id WHERE ua.user_id = p_user_id;
  DELETE FROM user_areas WHERE user_id = p_user_id;
  INSERT INTO user_areas (user_id, area_id, assigned_by_name, created_at)
  SELECT p_user_id, x, left(COALESCE(p_actor->>'username', 'system'), 64), now()
    FROM (SELECT DISTINCT x FROM unnest(COALESCE(p_area_ids, '{}')) AS x) d;
  SELECT COALESCE(jsonb_agg(a.path ORDER BY a.path), '[]'::jsonb) INTO v_after
    FROM user_areas ua JOIN areas a ON a.id = ua.area_id WHERE ua.user_id = p_user_id;
  PERFORM meterline_audit(p_actor, 'user.areas', 'user', p_user_id::text,
                          jsonb_build_object('before', v_before, 'after', v_after));
END $$;
