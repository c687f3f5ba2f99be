-- The utility's settings, its areas, tariff plans and daily usage (services/storage/sql_reference.py
-- does the same on the SQL backends). Each write is one call, one transaction, with its audit row.

-- Insert or update the one settings row (id 1) from p_row (a utility_settings row as
-- services/accounts/utility.py builds it; keys that are not columns are ignored, updated_by is the
-- actor). Audited as utility.settings with the columns that changed. Returns those columns.
CREATE OR REPLACE FUNCTION meterline_save_utility_settings(p_row jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old utility_settings;
  v_found boolean;
  v_columns jsonb := to_jsonb(jsonb_populate_record(NULL::utility_settings, '{}'::jsonb));
  v_given jsonb;
  v_row utility_settings;
  v_changed jsonb;
  v_set text;
BEGIN
  SELECT * INTO v_old FROM utility_settings WHERE id = 1 FOR UPDATE;
  v_found := FOUND;
  SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb) INTO v_given FROM jsonb_each(COALESCE(p_row, '{}'::jsonb))
   WHERE v_columns ? key AND key NOT IN ('id', 'updated_at', 'updated_by');
  v_given := v_given || jsonb_build_object('updated_by', COALESCE(p_actor->>'username', 'system'));
  v_row := jsonb_populate_record(v_old, v_given || jsonb_build_object('id', 1, 'updated_at', now()));
  -- Every column but the key, so a column added to the table later is saved too.
  SELECT string_agg(format('%I', key), ', ') INTO v_set FROM jsonb_object_keys(v_columns) AS key WHERE key <> 'id';
  EXECUTE format('INSERT INTO utility_settings SELECT ($1).* ON CONFLICT (id) DO UPDATE SET (%s) = ROW(%s)', v_set,
                 (SELECT string_agg(format('EXCLUDED.%I', key), ', ') FROM jsonb_object_keys(v_columns) AS key
                   WHERE key <> 'id'))
    USING v_row;
  SELECT COALESCE(jsonb_object_agg(key, to_jsonb(v_row)->key), '{}'::jsonb) INTO v_changed
    FROM jsonb_object_keys(v_given) AS key
   WHERE NOT v_found OR to_jsonb(v_old)->key IS DISTINCT FROM to_jsonb(v_row)->key;
  PERFORM meterline_audit(p_actor, 'utility.settings', 'utility', '1', v_changed);
  RETURN v_changed;
END $$;

-- The areas p_areas names ({path, name, kind?, sort_order?}) and the parents their paths imply, one
-- row per path with its level (the number of codes in the path); a given area wins over a parent
-- another path implies, and the last of a path given twice wins.
CREATE OR REPLACE FUNCTION meterline_wanted_areas(p_areas jsonb)
RETURNS TABLE (path text, name text, kind text, sort_order integer, level integer)
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  WITH given AS (
    SELECT e.v->>'path' AS path, e.v->>'name' AS name, e.v->>'kind' AS kind, (e.v->>'sort_order')::integer AS sort_order,
           e.ord
      FROM jsonb_array_elements(COALESCE(p_areas, '[]'::jsonb)) WITH ORDINALITY AS e(v, ord)
  ), implied AS (
    SELECT array_to_string((string_to_array(g.path, '/'))[1:i], '/') AS path, (string_to_array(g.path, '/'))[i] AS name
      FROM given g, generate_series(1, cardinality(string_to_array(g.path, '/')) - 1) AS i
  )
  SELECT DISTINCT ON (w.path) w.path, w.name, w.kind, w.sort_order, cardinality(string_to_array(w.path, '/'))
    FROM (SELECT g.path, g.name, g.kind, g.sort_order, 1 AS rank, -g.ord AS ord FROM given g
          UNION ALL
          SELECT i.path, i.name, NULL, NULL, 2, 0 FROM implied i) w
   ORDER BY w.path, w.rank, w.ord
$$;

-- Create the areas of p_areas that do not exist yet (parents implied by the paths, created first),
-- in one transaction; an area another writer created meanwhile is taken as it is. Audited as
-- area.create with how many were created (nothing when none was). Returns {path: id} for every path
-- given and its parents.
CREATE OR REPLACE FUNCTION meterline_ensure_areas(p_areas jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_level integer;
  v_made integer := 0;
  n integer;
BEGIN
  FOR v_level IN SELECT DISTINCT w.level FROM meterline_wanted_areas(p_areas) w ORDER BY 1 LOOP
    WITH ins AS (
      INSERT INTO areas (parent_id, level, code, name, path, kind, sort_order)
      SELECT p.id, w.level, (string_to_array(w.path, '/'))[w.level],
             COALESCE(NULLIF(w.name, ''), (string_to_array(w.path, '/'))[w.level]), w.path, w.kind,
             COALESCE(w.sort_order, 0)
        FROM meterline_wanted_areas(p_areas) w
        LEFT JOIN areas p ON p.path = array_to_string((string_to_array(w.path, '/'))[1:w.level - 1], '/')
       WHERE w.level = v_level AND NOT EXISTS (SELECT 1 FROM areas x WHERE x.path = w.path)
       ORDER BY w.path
      ON CONFLICT (path) DO NOTHING
      RETURNING 1
    )
    SELECT count(*) INTO n FROM ins;
    v_made := v_made + n;
  END LOOP;
  IF v_made > 0 THEN
    PERFORM meterline_audit(p_actor, 'area.create', 'area', NULL, jsonb_build_object('created', v_made));
  END IF;
  RETURN (SELECT COALESCE(jsonb_object_agg(a.path, a.id), '{}'::jsonb) FROM areas a
           WHERE a.path IN (SELECT w.path FROM meterline_wanted_areas(p_areas) w));
END $$;

-- Store a tariff plan (services/tariffs/plan.py TariffPlan.to_dict()) and the versions of it not
-- stored yet. Versions are append-only: a stored version with other terms (params or effective
-- date) is refused (PT422 naming `version`), and nothing of the call is kept. The plan's own row is
-- written once. Audited: tariff_plan.create, tariff_plan.version. Returns the plan's id.
CREATE OR REPLACE FUNCTION meterline_save_tariff_plan(p_plan jsonb, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_plan bigint;
  x record;
  v_old tariff_plan_versions;
  v_vid bigint;
BEGIN
  INSERT INTO tariff_plans (code, name, kind, service, unit, currency, notes)
  VALUES (p_plan->>'code', p_plan->>'name', p_plan->>'kind', p_plan->>'service', p_plan->>'unit',
          p_plan->>'currency', p_plan->>'notes')
  ON CONFLICT (code) DO NOTHING
  RETURNING id INTO v_plan;
  IF v_plan IS NOT NULL THEN
    PERFORM meterline_audit(p_actor, 'tariff_plan.create', 'tariff_plan', v_plan::text,
                            jsonb_build_object('code', p_plan->>'code', 'kind', p_plan->>'kind'));
  ELSE
    SELECT id INTO v_plan FROM tariff_plans WHERE code = p_plan->>'code' FOR UPDATE;  -- one writer of its versions
  END IF;
  FOR x IN SELECT e.v FROM jsonb_array_elements(COALESCE(p_plan->'versions', '[]'::jsonb)) WITH ORDINALITY AS e(v, ord)
            ORDER BY e.ord LOOP
    SELECT * INTO v_old FROM tariff_plan_versions WHERE plan_id = v_plan AND version = (x.v->>'version')::integer;
    IF FOUND THEN
      IF v_old.params IS DISTINCT FROM x.v->'params' OR v_old.effective_from <> (x.v->>'effective_from')::date THEN
        PERFORM meterline_invalid('version', format('version %s of plan %s is stored with other terms.',
                                                    x.v->>'version', p_plan->>'code'),
                                  'Add a new version instead of changing a stored one.');
      END IF;
      CONTINUE;
    END IF;
    INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params, notes, created_by_name)
    VALUES (v_plan, (x.v->>'version')::integer, (x.v->>'effective_from')::date, x.v->'params', x.v->>'notes',
            COALESCE(p_actor->>'username', 'system'))
    RETURNING id INTO v_vid;
    PERFORM meterline_audit(p_actor, 'tariff_plan.version', 'tariff_plan', v_plan::text, jsonb_build_object(
      'version', (x.v->>'version')::integer, 'effective_from', x.v->>'effective_from', 'version_id', v_vid));
  END LOOP;
  RETURN v_plan;
END $$;

-- Each account's daily usage summed over [p_start, p_end] (accounts with none are absent):
-- [{"account_id", "first_date", "last_date", "days", "quantity"}], quantities as text (exact).
CREATE OR REPLACE FUNCTION meterline_usage_totals(p_account_ids bigint[], p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('account_id', t.account_id, 'first_date', t.first_date,
                                                'last_date', t.last_date, 'days', t.days, 'quantity', t.quantity::text)
                            ORDER BY t.account_id), '[]'::jsonb)
    FROM (SELECT u.account_id, min(u.usage_date) AS first_date, max(u.usage_date) AS last_date, count(*) AS days,
                 sum(u.quantity)::numeric(14, 2) AS quantity
            FROM daily_usage u
           WHERE u.account_id = ANY (p_account_ids) AND u.usage_date BETWEEN p_start AND p_end
           GROUP BY u.account_id) t
$$;

-- The ids of an area and of every area under it (areas is small: hundreds to a few thousand rows).
-- An exact prefix test: a path's codes may hold LIKE's wildcards.
CREATE OR REPLACE FUNCTION meterline_area_subtree(p_area bigint)
RETURNS SETOF bigint LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT x.id FROM areas x, areas t
   WHERE t.id = p_area AND (x.path = t.path OR left(x.path, length(t.path) + 1) = t.path || '/')
$$;
