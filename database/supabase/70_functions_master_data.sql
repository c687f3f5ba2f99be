-- Master data import (services/master_import.py decides what changed; these store it).

-- What the database holds for one chunk of an import. Read-only.
CREATE OR REPLACE FUNCTION meterline_master_data_state(p_flat_codes text[], p_meter_numbers text[], p_motor_codes text[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'accounts', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                 'id', d.id, 'code', d.code, 'block', d.block, 'floor_code', d.floor_code, 'category', d.category,
                 'contact_id', d.contact_id, 'contact_name', d.contact_name, 'contact_phone', d.contact_phone))
               FROM flat_details d WHERE d.code = ANY (p_flat_codes)), '[]'::jsonb),
    'flat_meters', COALESCE((SELECT jsonb_agg(jsonb_build_array(f.code, m.id, m.meter_number) ORDER BY m.id)
               FROM meters m JOIN accounts f ON f.id = m.account_id
              WHERE f.code = ANY (p_flat_codes) AND m.status = 'active'), '[]'::jsonb),
    'account_motors', COALESCE((SELECT jsonb_agg(jsonb_build_array(f.code, mo.code) ORDER BY fm.id)
               FROM account_motors fm JOIN accounts f ON f.id = fm.account_id JOIN motors mo ON mo.id = fm.motor_id
              WHERE f.code = ANY (p_flat_codes)), '[]'::jsonb),
    'meters', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'meter_number', m.meter_number,
                                                            'status', m.status, 'account_code', f.code, 'motor_code', mo.code))
               FROM meters m LEFT JOIN accounts f ON f.id = m.account_id LEFT JOIN motors mo ON mo.id = m.motor_id
              WHERE m.meter_number = ANY (p_meter_numbers)), '[]'::jsonb),
    'motor_meters', COALESCE((SELECT jsonb_agg(jsonb_build_array(mo.code, m.id, m.meter_number) ORDER BY m.id)
               FROM meters m JOIN motors mo ON mo.id = m.motor_id
              WHERE mo.code = ANY (p_motor_codes) AND m.account_id IS NULL AND m.status = 'active'), '[]'::jsonb))
$$;

-- One chunk of an import; codes are resolved to ids here. Returns the chunk's counts. Runs inside
-- the caller's transaction (meterline_apply_master_data, meterline_apply_staged_master_data).
CREATE OR REPLACE FUNCTION meterline_apply_master_changes(p_changes jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  x record;
  v_owner bigint;
  v_counts jsonb := '{}'::jsonb;
  k text;
BEGIN
  INSERT INTO floors (code, name, sort_order)
  SELECT code, name, sort_order FROM jsonb_to_recordset(COALESCE(p_changes->'floors', '[]'))
         AS t(code text, name text, sort_order integer);
  INSERT INTO flat_types (name, bhk)
  SELECT name, bhk FROM jsonb_to_recordset(COALESCE(p_changes->'flat_types', '[]')) AS t(name text, bhk integer);
  INSERT INTO motors (code, name)
  SELECT code, COALESCE(name, '') FROM jsonb_to_recordset(COALESCE(p_changes->'motors', '[]')) AS t(code text, name text);
  INSERT INTO accounts (code, block, floor_id, type_id)
  SELECT e.v->>'code', e.v->>'block', fl.id, ft.id
    FROM jsonb_array_elements(COALESCE(p_changes->'flats_new', '[]')) WITH ORDINALITY AS e(v, ord)
    LEFT JOIN floors fl ON fl.code = e.v->>'floor_code' LEFT JOIN flat_types ft ON ft.name = e.v->>'category'
   ORDER BY e.ord;
  UPDATE accounts SET block = t.block, floor_id = fl.id, type_id = ft.id
    FROM jsonb_to_recordset(COALESCE(p_changes->'flats_changed', '[]'))
         AS t(id bigint, block text, floor_code text, category text)
    LEFT JOIN floors fl ON fl.code = t.floor_code LEFT JOIN flat_types ft ON ft.name = t.category
   WHERE accounts.id = t.id;
  FOR x IN SELECT e.v->>'name' AS name, e.v->>'phone' AS phone, f.id AS account_id
             FROM jsonb_array_elements(COALESCE(p_changes->'owners_new', '[]')) WITH ORDINALITY AS e(v, ord)
             JOIN accounts f ON f.code = e.v->>'account_code'
            ORDER BY e.ord LOOP
    INSERT INTO contacts (name, phone) VALUES (x.name, x.phone) RETURNING id INTO v_owner;
    INSERT INTO account_contacts (account_id, contact_id, is_primary) VALUES (x.account_id, v_owner, true);
  END LOOP;
  UPDATE contacts SET name = t.name, phone = t.phone
    FROM jsonb_to_recordset(COALESCE(p_changes->'owners_changed', '[]')) AS t(id bigint, name text, phone text)
   WHERE contacts.id = t.id;
  UPDATE meters SET status = 'replaced'
   WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text(COALESCE(p_changes->'meters_retired', '[]')));
  INSERT INTO meters (meter_number, account_id, motor_id, status)
  SELECT e.v->>'meter_number', f.id, mo.id, 'active'
    FROM jsonb_array_elements(COALESCE(p_changes->'meters_new', '[]')) WITH ORDINALITY AS e(v, ord)
    LEFT JOIN accounts f ON f.code = e.v->>'account_code' LEFT JOIN motors mo ON mo.code = e.v->>'motor_code'
   ORDER BY e.ord;
  DELETE FROM account_motors USING jsonb_to_recordset(COALESCE(p_changes->'links_removed', '[]'))
         AS t(account_code text, motor_code text), accounts f, motors mo
   WHERE f.code = t.account_code AND mo.code = t.motor_code AND account_motors.account_id = f.id AND account_motors.motor_id = mo.id;
  INSERT INTO account_motors (account_id, motor_id)
  SELECT f.id, mo.id
    FROM jsonb_to_recordset(COALESCE(p_changes->'links_new', '[]')) AS t(account_code text, motor_code text)
    JOIN accounts f ON f.code = t.account_code JOIN motors mo ON mo.code = t.motor_code;
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
