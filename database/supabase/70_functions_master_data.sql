-- Master data import (services/master_data/importer.py decides what changed; these store it).

-- What the database holds for one chunk of an import (services/master_data/importer.MasterDataState):
-- each account with its area path, category and primary contact, the accounts' active meters and
-- motor links, each meter with its account or motor, the motors' active meters. Read-only.
DROP FUNCTION IF EXISTS meterline_master_data_state(text[], text[], text[]);  -- schema version 2 named p_flat_codes
CREATE OR REPLACE FUNCTION meterline_master_data_state(p_account_codes text[], p_meter_numbers text[],
                                                       p_motor_codes text[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'accounts', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                 'id', d.id, 'code', d.code, 'area_path', d.area_path, 'category', d.category,
                 'contact_id', d.contact_id, 'contact_name', d.contact_name, 'contact_phone', d.contact_phone))
               FROM account_details d WHERE d.code = ANY (p_account_codes)), '[]'::jsonb),
    'flat_meters', COALESCE((SELECT jsonb_agg(jsonb_build_array(a.code, m.id, m.meter_number) ORDER BY m.id)
               FROM meters m JOIN accounts a ON a.id = m.account_id
              WHERE a.code = ANY (p_account_codes) AND m.status = 'active'), '[]'::jsonb),
    'account_motors', COALESCE((SELECT jsonb_agg(jsonb_build_array(a.code, mo.code) ORDER BY am.id)
               FROM account_motors am JOIN accounts a ON a.id = am.account_id JOIN motors mo ON mo.id = am.motor_id
              WHERE a.code = ANY (p_account_codes)), '[]'::jsonb),
    'meters', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'meter_number', m.meter_number,
                                                            'status', m.status, 'account_code', a.code,
                                                            'motor_code', mo.code))
               FROM meters m LEFT JOIN accounts a ON a.id = m.account_id LEFT JOIN motors mo ON mo.id = m.motor_id
              WHERE m.meter_number = ANY (p_meter_numbers)), '[]'::jsonb),
    'motor_meters', COALESCE((SELECT jsonb_agg(jsonb_build_array(mo.code, m.id, m.meter_number) ORDER BY m.id)
               FROM meters m JOIN motors mo ON mo.id = m.motor_id
              WHERE mo.code = ANY (p_motor_codes) AND m.account_id IS NULL AND m.status = 'active'), '[]'::jsonb))
$$;

-- One chunk of an import (services/master_data/importer.MasterDataChanges); codes and area paths are
-- resolved to ids here, as services/storage/sql_master.py does: the areas (blocks, floors) first, then
-- motors; each new flat is an account (type flat) in its leaf area, connected to the stored
-- electricity plan (PT409 when there is none: nothing of the import is kept). Returns the chunk's
-- counts. Runs inside the caller's transaction (meterline_apply_master_data,
-- meterline_apply_staged_master_data).
CREATE OR REPLACE FUNCTION meterline_apply_master_changes(p_changes jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  x record;
  v_contact bigint;
  v_plan bigint;
  v_counts jsonb := '{}'::jsonb;
  k text;
BEGIN
  IF jsonb_array_length(COALESCE(p_changes->'areas', '[]'::jsonb)) > 0 THEN
    PERFORM meterline_ensure_areas(p_changes->'areas', jsonb_build_object('user_id', NULL, 'username', 'system',
                                                                          'client', NULL));
  END IF;
  INSERT INTO motors (code, name)
  SELECT code, COALESCE(name, '') FROM jsonb_to_recordset(COALESCE(p_changes->'motors', '[]')) AS t(code text, name text);
  IF jsonb_array_length(COALESCE(p_changes->'flats_new', '[]'::jsonb)) > 0 THEN
    SELECT id INTO v_plan FROM tariff_plans WHERE service = 'electricity' ORDER BY id LIMIT 1;
    IF v_plan IS NULL THEN
      PERFORM meterline_conflict('No electricity tariff plan is stored, so new flats cannot be connected; set the '
                                 'utility up first (python -m scripts.seed_demo on an empty database, or the Tariff '
                                 'plans page). Nothing was written.');
    END IF;
    -- An unknown area path leaves area_id NULL, which the table refuses: nothing is stored.
    INSERT INTO accounts (code, name, area_id, category, account_type)
    SELECT e.v->>'code', COALESCE(e.v->>'name', ''), ar.id, e.v->>'category', 'flat'
      FROM jsonb_array_elements(p_changes->'flats_new') WITH ORDINALITY AS e(v, ord)
      LEFT JOIN areas ar ON ar.path = e.v->>'area_path'
     ORDER BY e.ord;
    INSERT INTO service_connections (account_id, service, tariff_plan_id)
    SELECT a.id, 'electricity', v_plan
      FROM jsonb_array_elements(p_changes->'flats_new') WITH ORDINALITY AS e(v, ord)
      JOIN accounts a ON a.code = e.v->>'code'
     ORDER BY e.ord;
  END IF;
  UPDATE accounts SET area_id = c.area_id, category = c.category, updated_at = now()
    FROM (SELECT t.id, t.category, ar.id AS area_id
            FROM jsonb_to_recordset(COALESCE(p_changes->'flats_changed', '[]')) AS t(id bigint, area_path text, category text)
            LEFT JOIN areas ar ON ar.path = t.area_path) c
   WHERE accounts.id = c.id;
  FOR x IN SELECT e.v->>'name' AS name, e.v->>'phone' AS phone, a.id AS account_id
             FROM jsonb_array_elements(COALESCE(p_changes->'owners_new', '[]')) WITH ORDINALITY AS e(v, ord)
             JOIN accounts a ON a.code = e.v->>'account_code'
            ORDER BY e.ord LOOP
    INSERT INTO contacts (name, phone) VALUES (x.name, x.phone) RETURNING id INTO v_contact;
    INSERT INTO account_contacts (account_id, contact_id, is_primary) VALUES (x.account_id, v_contact, true);
  END LOOP;
  UPDATE contacts SET name = t.name, phone = t.phone
    FROM jsonb_to_recordset(COALESCE(p_changes->'owners_changed', '[]')) AS t(id bigint, name text, phone text)
   WHERE contacts.id = t.id;
  UPDATE meters SET status = 'replaced'
   WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text(COALESCE(p_changes->'meters_retired', '[]')));
  INSERT INTO meters (meter_number, account_id, motor_id, status)
  SELECT e.v->>'meter_number', a.id, mo.id, 'active'
    FROM jsonb_array_elements(COALESCE(p_changes->'meters_new', '[]')) WITH ORDINALITY AS e(v, ord)
    LEFT JOIN accounts a ON a.code = e.v->>'account_code' LEFT JOIN motors mo ON mo.code = e.v->>'motor_code'
   ORDER BY e.ord;
  DELETE FROM account_motors USING jsonb_to_recordset(COALESCE(p_changes->'links_removed', '[]'))
         AS t(account_code text, motor_code text), accounts a, motors mo
   WHERE a.code = t.account_code AND mo.code = t.motor_code AND account_motors.account_id = a.id
     AND account_motors.motor_id = mo.id;
  INSERT INTO account_motors (account_id, motor_id)
  SELECT a.id, mo.id
    FROM jsonb_to_recordset(COALESCE(p_changes->'links_new', '[]')) AS t(account_code text, motor_code text)
    JOIN accounts a ON a.code = t.account_code JOIN motors mo ON mo.code = t.motor_code;
  FOR k IN SELECT key FROM jsonb_each(p_changes) WHERE jsonb_typeof(value) = 'array' LOOP
    IF jsonb_array_length(p_changes->k) > 0 THEN
      v_counts := v_counts || jsonb_build_object(k, jsonb_array_length(p_changes->k));
    END IF;
  END LOOP;
  RETURN v_counts;
END $$;

-- A whole import given as one chunk, in one transaction. Audited.
CREATE OR REPLACE FUNCTION meterline_apply_master_data(p_changes jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_counts jsonb := meterline_apply_master_changes(p_changes);
BEGIN
  PERFORM meterline_audit(p_actor, 'master_data.import', 'master_data', NULL, v_counts);
  RETURN v_counts;
END $$;

-- A big import is sent in parts (one request each, into master_data_staging, a table of
-- database/schema.py) and applied by one call, all or nothing. Staged parts change nothing until
-- meterline_apply_staged_master_data; parts of an import that never completed are removed after a day.
CREATE OR REPLACE FUNCTION meterline_stage_master_data(p_import text, p_part integer, p_changes jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM master_data_staging WHERE staged_at < now() - interval '1 day';
  INSERT INTO master_data_staging (import_id, part, changes) VALUES (p_import, p_part, p_changes);
END $$;

-- Every staged part of the import, in order, in one transaction; then the parts are removed.
-- PT409 when a part is missing (nothing applied). Audited once with the summed counts.
CREATE OR REPLACE FUNCTION meterline_apply_staged_master_data(p_import text, p_parts integer, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  x record;
  v_part jsonb;
  v_counts jsonb := '{}'::jsonb;
  k text;
  v_found integer;
BEGIN
  SELECT count(*) INTO v_found FROM master_data_staging WHERE import_id = p_import AND part BETWEEN 1 AND p_parts;
  IF v_found <> p_parts THEN
    PERFORM meterline_conflict(format('Only %s of the %s parts of this master data import arrived; nothing was '
                                      'stored. Run the import again.', v_found, p_parts));
  END IF;
  FOR x IN SELECT changes FROM master_data_staging WHERE import_id = p_import ORDER BY part LOOP
    v_part := meterline_apply_master_changes(x.changes);
    FOR k IN SELECT jsonb_object_keys(v_part) LOOP
      v_counts := v_counts || jsonb_build_object(k, COALESCE((v_counts->>k)::integer, 0) + (v_part->>k)::integer);
    END LOOP;
  END LOOP;
  DELETE FROM master_data_staging WHERE import_id = p_import;
  PERFORM meterline_audit(p_actor, 'master_data.import', 'master_data', NULL, v_counts);
  RETURN v_counts;
END $$;
