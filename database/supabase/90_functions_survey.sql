-- The municipal survey import (services/municipal/survey.py decides; services/storage/sql_survey.py
-- is the SQL backends' twin of these functions).

-- What is stored for these survey ids: account, primary contact and survey values.
CREATE OR REPLACE FUNCTION meterline_survey_state(p_codes text[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'account_id', a.id, 'code', a.code, 'area_id', a.area_id, 'category', a.category,
           'account_type', a.account_type, 'is_active', a.is_active, 'billing_name', a.name,
           'billing_address', a.address, 'gps_lat', a.gps_lat::text, 'gps_lon', a.gps_lon::text,
           'contact_id', o.id, 'billing_mobile', o.phone,
           'surveyor_name', v.surveyor_name, 'surveyed_at', v.surveyed_at, 'survey_name', v.survey_name,
           'survey_mobile', v.survey_mobile, 'survey_address', v.survey_address, 'house_type', v.house_type,
           'water_connection', v.water_connection, 'size_marla', v.size_marla::text, 'photo_ref', v.photo_ref,
           'gps_text', v.gps_text, 'unit_type', v.unit_type, 'size_category', v.size_category)), '[]'::jsonb)
    FROM accounts a
    LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
    LEFT JOIN contacts o ON o.id = ac.contact_id
    LEFT JOIN account_surveys v ON v.account_id = a.id
   WHERE a.code = ANY (p_codes)
$$;

-- Store an import's plan in one transaction (the function is one): inserts, updates, history, audit.
CREATE OR REPLACE FUNCTION meterline_apply_survey(p_plan jsonb, p_source text, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  u jsonb;
  v_account bigint;
  v_contact bigint;
  v_now timestamptz := now();
BEGIN
  FOR u IN SELECT * FROM jsonb_array_elements(COALESCE(p_plan -> 'inserts', '[]'::jsonb)) LOOP
    INSERT INTO accounts (code, area_id, name, category, account_type, is_active, address, gps_lat, gps_lon,
                          created_at, updated_at)
    VALUES (u ->> 'code', (u ->> 'area_id')::bigint, u ->> 'billing_name', u ->> 'category', u ->> 'account_type',
            (u ->> 'is_active')::boolean, u ->> 'billing_address', (u ->> 'gps_lat')::numeric,
            (u ->> 'gps_lon')::numeric, v_now, v_now)
    RETURNING id INTO v_account;
    INSERT INTO contacts (name, phone, address) VALUES (u ->> 'billing_name', u ->> 'billing_mobile',
                                                        u ->> 'billing_address')
    RETURNING id INTO v_contact;
    INSERT INTO account_contacts (account_id, contact_id, role, is_primary) VALUES (v_account, v_contact, 'owner', true);
    INSERT INTO account_surveys (account_id, survey_id, surveyor_name, surveyed_at, survey_name, survey_mobile,
                                 survey_address, house_type, water_connection, size_marla, photo_ref, gps_text,
                                 unit_type, size_category)
    VALUES (v_account, u ->> 'code', u ->> 'surveyor_name', (u ->> 'surveyed_at')::timestamptz, u ->> 'survey_name',
            u ->> 'survey_mobile', u ->> 'survey_address', u ->> 'house_type', u ->> 'water_connection',
            (u ->> 'size_marla')::numeric, u ->> 'photo_ref', u ->> 'gps_text', u ->> 'unit_type',
            u ->> 'size_category');
    IF u ->> 'connect_plan_id' IS NOT NULL THEN
      INSERT INTO service_connections (account_id, service, tariff_plan_id, is_active, started_on)
      VALUES (v_account, u ->> 'service', (u ->> 'connect_plan_id')::bigint, (u ->> 'is_active')::boolean,
              (u ->> 'connect_from')::date);
    END IF;
  END LOOP;
  FOR u IN SELECT * FROM jsonb_array_elements(COALESCE(p_plan -> 'updates', '[]'::jsonb)) LOOP
    v_account := (u ->> 'account_id')::bigint;
    UPDATE accounts SET area_id = (u ->> 'area_id')::bigint, name = u ->> 'billing_name', category = u ->> 'category',
           account_type = u ->> 'account_type', is_active = (u ->> 'is_active')::boolean,
           address = u ->> 'billing_address', gps_lat = (u ->> 'gps_lat')::numeric,
           gps_lon = (u ->> 'gps_lon')::numeric, updated_at = v_now
     WHERE id = v_account;
    IF u ->> 'contact_id' IS NOT NULL THEN
      UPDATE contacts SET name = u ->> 'billing_name', phone = u ->> 'billing_mobile', address = u ->> 'billing_address'
       WHERE id = (u ->> 'contact_id')::bigint;
    ELSE
      INSERT INTO contacts (name, phone, address) VALUES (u ->> 'billing_name', u ->> 'billing_mobile',
                                                          u ->> 'billing_address')
      RETURNING id INTO v_contact;
      INSERT INTO account_contacts (account_id, contact_id, role, is_primary) VALUES (v_account, v_contact, 'owner', true);
    END IF;
    UPDATE account_surveys SET surveyor_name = u ->> 'surveyor_name', surveyed_at = (u ->> 'surveyed_at')::timestamptz,
           survey_name = u ->> 'survey_name', survey_mobile = u ->> 'survey_mobile',
           survey_address = u ->> 'survey_address', house_type = u ->> 'house_type',
           water_connection = u ->> 'water_connection', size_marla = (u ->> 'size_marla')::numeric,
           photo_ref = u ->> 'photo_ref', gps_text = u ->> 'gps_text', unit_type = u ->> 'unit_type',
           size_category = u ->> 'size_category'
     WHERE account_id = v_account;
    IF NOT FOUND THEN
      INSERT INTO account_surveys (account_id, survey_id, surveyor_name, surveyed_at, survey_name, survey_mobile,
                                   survey_address, house_type, water_connection, size_marla, photo_ref, gps_text,
                                   unit_type, size_category)
      VALUES (v_account, u ->> 'code', u ->> 'surveyor_name', (u ->> 'surveyed_at')::timestamptz, u ->> 'survey_name',
              u ->> 'survey_mobile', u ->> 'survey_address', u ->> 'house_type', u ->> 'water_connection',
              (u ->> 'size_marla')::numeric, u ->> 'photo_ref', u ->> 'gps_text', u ->> 'unit_type',
              u ->> 'size_category');
    END IF;
  END LOOP;
  INSERT INTO account_history (account_id, field, old_value, new_value, source, changed_by_name, created_at)
  SELECT (x ->> 'account_id')::bigint, x ->> 'field', left(x ->> 'old_value', 255), left(x ->> 'new_value', 255),
         left(p_source, 64), COALESCE(p_actor ->> 'username', 'system'), v_now
    FROM jsonb_array_elements(COALESCE(p_plan -> 'history', '[]'::jsonb)) AS x;
  PERFORM meterline_audit(p_actor, 'survey.import', 'account', NULL,
                          jsonb_build_object('source', p_source) || (p_plan -> 'counts'));
  RETURN p_plan -> 'counts';
END $$;
