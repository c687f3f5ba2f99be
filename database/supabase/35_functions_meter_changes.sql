-- Meter replacements and rollovers (services/readings/meter_changes.py), recorded by an admin: one call,
-- one transaction, under the old meter's lock.

-- p_change: {"kind", "meter_id", "change_date", "final_value", "start_value", "new_meter_number",
-- "reason"}; p_details: the audit details Python built (the ids are added here). Returns the
-- meter_changes id. PT422 naming the field for what a person can fix.
CREATE OR REPLACE FUNCTION meterline_record_meter_change(p_change jsonb, p_actor jsonb, p_max_kwh_per_day numeric,
                                                         p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_kind text := p_change->>'kind';
  v_date date := (p_change->>'change_date')::date;
  v_final_value numeric := (p_change->>'final_value')::numeric;
  v_start_value numeric := (p_change->>'start_value')::numeric;
  v_new_number text := p_change->>'new_meter_number';
  v_meter meters;
  v_prev readings;
  v_next readings;
  v_final_id bigint;
  v_final_status text;
  v_cons numeric;
  v_new_meter bigint;
  v_start_id bigint;
  v_change_id bigint;
  v_user bigint := (p_actor->>'user_id')::bigint;
BEGIN
  SELECT * INTO v_meter FROM meters WHERE id = (p_change->>'meter_id')::bigint FOR UPDATE;
  IF v_meter.id IS NULL THEN
    PERFORM meterline_invalid('meter', format('unknown meter %s.', p_change->>'meter_id'),
                              'Pick a meter from the list, or ask an admin to register it.');
  END IF;
  IF v_meter.status <> 'active' THEN
    PERFORM meterline_invalid('meter', format('meter %s is %s, not active.', v_meter.meter_number, v_meter.status),
                              'Readings are taken only on active meters; ask an admin if it was replaced.');
  END IF;
  -- The final reading: the one stored with that value on that day, else a new one checked like any reading.
  SELECT id, status INTO v_final_id, v_final_status FROM readings
   WHERE meter_id = v_meter.id AND reading_date = v_date AND reading_value = v_final_value;
  IF v_final_status = 'rejected' THEN
    PERFORM meterline_invalid('final_reading', format('reading #%s of %s with that value was rejected.',
                              v_final_id, v_date), 'Check the final reading.');
  END IF;
  SELECT * INTO v_next FROM readings WHERE meter_id = v_meter.id AND status <> 'rejected'
     AND (reading_date > v_date OR (reading_date = v_date AND v_final_id IS NOT NULL AND id > v_final_id))
   ORDER BY reading_date, id LIMIT 1;
  IF v_next.id IS NOT NULL THEN
    PERFORM meterline_invalid('change_date', format('meter %s has a reading after %s (#%s of %s, %s kWh).',
      v_meter.meter_number, v_date, v_next.id, v_next.reading_date, v_next.reading_value),
      'Date the change on or after the meter''s last reading, or reject the later readings first.');
  END IF;
  IF v_final_id IS NULL THEN
    SELECT * INTO v_prev FROM readings WHERE meter_id = v_meter.id AND status <> 'rejected'
       AND reading_date <= v_date ORDER BY reading_date DESC, id DESC LIMIT 1;
    v_cons := meterline_check_reading_value(v_final_value, v_date, v_prev, NULL::readings, p_max_kwh_per_day, 'final_reading');
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id, source, status,
                          submitted_by, reviewed_by, reviewed_at)
    VALUES (v_meter.id, v_final_value, v_date, v_cons, v_prev.id, 'meter_change', 'approved', v_user, v_user, now())
    RETURNING id INTO v_final_id;
    PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_final_id::text, jsonb_build_object(
      'meter_id', v_meter.id, 'reading_value', v_final_value::text, 'reading_date', v_date::text,
      'consumption', v_cons::text, 'source', 'meter_change', 'flags', '[]'::jsonb));
  ELSIF v_final_status = 'pending' THEN
    UPDATE readings SET status = 'approved', reviewed_by = v_user, reviewed_at = now(), updated_at = now()
     WHERE id = v_final_id;
    PERFORM meterline_audit(p_actor, 'reading.approve', 'reading', v_final_id::text,
                            jsonb_build_object('because', 'final reading of a meter change'));
  END IF;
  v_new_meter := v_meter.id;
  IF v_kind = 'replacement' THEN
    BEGIN
      INSERT INTO meters (meter_number, account_id, motor_id, service, unit, status, is_smart)
      VALUES (v_new_number, v_meter.account_id, v_meter.motor_id, v_meter.service, v_meter.unit, 'active',
              v_meter.is_smart)
      RETURNING id INTO v_new_meter;
    EXCEPTION WHEN unique_violation THEN
      PERFORM meterline_invalid('new_meter_number', format('meter %s already exists.', v_new_number),
                                'Check the number on the new meter.');
    END;
    UPDATE meters SET status = 'replaced' WHERE id = v_meter.id;
  END IF;
  BEGIN
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id, source, status,
                          submitted_by, reviewed_by, reviewed_at)
    VALUES (v_new_meter, v_start_value, v_date, NULL, NULL, 'meter_change', 'approved', v_user, v_user, now())
    RETURNING id INTO v_start_id;
  EXCEPTION WHEN unique_violation THEN
    PERFORM meterline_invalid('start_reading', format('meter %s already has a reading of %s kWh on %s.',
                              v_meter.meter_number, v_start_value, v_date), 'Check the start reading.');
  END;
  INSERT INTO meter_changes (kind, old_meter_id, new_meter_id, change_date, final_reading_id, start_reading_id,
                             reason, recorded_by, recorded_by_name)
  VALUES (v_kind, v_meter.id, v_new_meter, v_date, v_final_id, v_start_id, p_change->>'reason', v_user,
          COALESCE(p_actor->>'username', 'system'))
  RETURNING id INTO v_change_id;
  PERFORM meterline_audit(p_actor, 'meter.change', 'meter', v_meter.id::text, COALESCE(p_details, '{}'::jsonb)
    || jsonb_build_object('final_reading_id', v_final_id, 'start_reading_id', v_start_id, 'meter_change_id', v_change_id));
  RETURN v_change_id;
END $$;

-- Meter changes newest first (with p_meter_id: those that ended or started that meter's chains;
-- with p_change_id: that one), with the meters' numbers, the account and the two readings' values.
-- Returns {"total", "items"}; numbers as text (exact decimals).
CREATE OR REPLACE FUNCTION meterline_list_meter_changes(p_meter_id bigint, p_offset integer, p_limit integer,
                                                        p_change_id bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH picked AS (
    SELECT * FROM meter_changes c
     WHERE (p_meter_id IS NULL OR c.old_meter_id = p_meter_id OR c.new_meter_id = p_meter_id)
       AND (p_change_id IS NULL OR c.id = p_change_id)
  )
  SELECT jsonb_build_object(
    'total', (SELECT count(*) FROM picked),
    'items', COALESCE((SELECT jsonb_agg(row_to_json(x) ORDER BY x.change_date DESC, x.id DESC) FROM (
      SELECT c.id, c.kind, c.old_meter_id, c.new_meter_id, c.change_date, c.final_reading_id, c.start_reading_id,
             c.reason, c.recorded_by, c.recorded_by_name, c.created_at, om.meter_number AS old_meter_number,
             nm.meter_number AS new_meter_number, f.code AS account_code, fr.reading_value::text AS final_value,
             sr.reading_value::text AS start_value
        FROM picked c
        JOIN meters om ON om.id = c.old_meter_id
        JOIN meters nm ON nm.id = c.new_meter_id
        JOIN readings fr ON fr.id = c.final_reading_id
        JOIN readings sr ON sr.id = c.start_reading_id
        LEFT JOIN accounts f ON f.id = om.account_id
       ORDER BY c.change_date DESC, c.id DESC
       OFFSET p_offset LIMIT p_limit) x), '[]'::jsonb))
$$;
