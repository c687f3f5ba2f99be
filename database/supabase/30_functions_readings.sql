-- Readings: submit (a double tap returns the first row), review, bulk approve, photo and AI advice.

-- A meter's non-rejected readings form a chain ordered by (reading_date, id): a reading of a day
-- comes after that day's readings stored before it (services/readings/rules.py). Every write to a
-- chain locks the meter row first (FOR UPDATE, to the end of the call's transaction), so the
-- neighbours read below are the ones the write lands between.

-- Re-measure a stored reading (the readings trigger checks it is unbilled and consistent); audited
-- as reading.relink with the same details the SQL backend writes.
CREATE OR REPLACE FUNCTION meterline_relink_reading(p_id bigint, p_previous_id bigint, p_consumption numeric,
                                                    p_actor jsonb, p_because text, p_cause_id bigint)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old readings;
BEGIN
  SELECT * INTO v_old FROM readings WHERE id = p_id;
  UPDATE readings SET previous_reading_id = p_previous_id, consumption = p_consumption, updated_at = now()
   WHERE id = p_id;
  PERFORM meterline_audit(p_actor, 'reading.relink', 'reading', p_id::text, jsonb_build_object(
    'because', p_because, 'cause_reading_id', p_cause_id,
    'old_previous_reading_id', v_old.previous_reading_id, 'new_previous_reading_id', p_previous_id,
    'old_consumption', v_old.consumption::text, 'new_consumption', p_consumption::text));
END $$;

-- The value rules of services/readings/rules.assess_reading against the neighbours read inside the
-- lock: not below the previous reading, not above the next, no implausible jump (either side), and
-- the next reading re-measurable (not billed, no admin-confirmed units). PT422 naming the field.
CREATE OR REPLACE FUNCTION meterline_check_reading_value(p_value numeric, p_date date, p_prev readings,
                                                         p_next readings, p_max_kwh_per_day numeric,
                                                         p_field text DEFAULT 'reading_value')
RETURNS numeric LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_days integer;
  v_cons numeric;
BEGIN
  IF p_prev.id IS NOT NULL THEN
    IF p_value < p_prev.reading_value THEN
      PERFORM meterline_invalid(p_field, format('%s kWh is below the previous reading %s kWh of %s%s.', p_value,
        p_prev.reading_value, p_prev.reading_date,
        CASE WHEN p_prev.reading_date = p_date THEN ' (stored earlier the same day)' ELSE '' END),
        'Check the digits. If the meter rolled over or was replaced, an admin records the meter change on the '
        'Meters page (Admin > Meters) and the reading is then taken on it; nothing was stored.');
    END IF;
    v_cons := p_value - p_prev.reading_value;
    v_days := GREATEST(p_date - p_prev.reading_date, 1);
    IF v_cons > p_max_kwh_per_day * v_days THEN
      PERFORM meterline_invalid(p_field, format('%s kWh implies %s kWh in %s day(s) since %s, more than %s kWh a day.',
        p_value, v_cons, v_days, p_prev.reading_date, p_max_kwh_per_day), 'Check the digits for an extra one.');
    END IF;
  END IF;
  IF p_next.id IS NOT NULL THEN
    IF p_value > p_next.reading_value THEN
      PERFORM meterline_invalid(p_field, format('%s kWh is above the later reading %s kWh of %s.', p_value,
        p_next.reading_value, p_next.reading_date), 'Check the date and the digits.');
    END IF;
    IF meterline_reading_is_billed(p_next.id) OR p_next.approved_units IS NOT NULL THEN
      PERFORM meterline_invalid('reading_date', format('%s is before reading #%s of %s (%s kWh), which %s.', p_date,
        p_next.id, p_next.reading_date, p_next.reading_value,
        CASE WHEN meterline_reading_is_billed(p_next.id) THEN 'is already billed (a billed consumption never changes)'
             ELSE format('has monthly units (%s kWh) an admin confirmed for the interval it covers now',
                         p_next.approved_units) END),
        'Check the date. That later reading already counts the use up to it; nothing was stored.');
    END IF;
    v_days := GREATEST(p_next.reading_date - p_date, 1);
    IF p_next.reading_value - p_value > p_max_kwh_per_day * v_days THEN
      PERFORM meterline_invalid(p_field, format('%s kWh on %s would leave the later reading %s kWh of %s implying '
        '%s kWh in %s day(s) since %s, more than %s kWh a day.', p_value, p_date, p_next.reading_value,
        p_next.reading_date, p_next.reading_value - p_value, v_days, p_date, p_max_kwh_per_day),
        'Check the digits for an extra one.');
    END IF;
  END IF;
  RETURN v_cons;
END $$;

-- Store one reading: lock the meter, return the stored row when the same (meter, date, value) is
-- there (created=false, nothing written), else read the neighbours, apply the value rules, insert
-- with consumption and previous_reading_id computed here, re-measure the next reading from it, and
-- audit. p_reading: the NewReading fields (consumption and previous_reading_id are recomputed).
-- p_expect: {"previous_id", "following_id"} as Python saw them when it computed the flags; when the
-- chain changed since, PT409 'stale' and Python reads it again. Returns {"id", "created"}.
DROP FUNCTION IF EXISTS meterline_insert_reading(jsonb, jsonb, jsonb);
CREATE OR REPLACE FUNCTION meterline_insert_reading(p_reading jsonb, p_actor jsonb, p_details jsonb,
                                                    p_expect jsonb DEFAULT NULL,
                                                    p_max_kwh_per_day numeric DEFAULT 2000)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  r readings := jsonb_populate_record(NULL::readings, p_reading);
  v_meter meters;
  v_prev readings;
  v_next readings;
  v_cons numeric;
  v_id bigint;
BEGIN
  SELECT * INTO v_meter FROM meters WHERE id = r.meter_id FOR UPDATE;
  IF v_meter.id IS NULL THEN
    PERFORM meterline_invalid('meter', format('unknown meter %s.', r.meter_id),
                              'Pick a meter from the list, or ask an admin to register it.');
  END IF;
  SELECT id INTO v_id FROM readings
   WHERE meter_id = r.meter_id AND reading_date = r.reading_date AND reading_value = r.reading_value;
  IF v_id IS NOT NULL THEN
    RETURN jsonb_build_object('id', v_id, 'created', false);
  END IF;
  IF v_meter.status <> 'active' THEN
    PERFORM meterline_invalid('meter', format('meter %s is %s, not active.', v_meter.meter_number, v_meter.status),
                              'Readings are taken only on active meters; ask an admin if it was replaced.');
  END IF;
  SELECT * INTO v_prev FROM readings WHERE meter_id = r.meter_id AND status <> 'rejected'
     AND reading_date <= r.reading_date ORDER BY reading_date DESC, id DESC LIMIT 1;
  SELECT * INTO v_next FROM readings WHERE meter_id = r.meter_id AND status <> 'rejected'
     AND reading_date > r.reading_date ORDER BY reading_date, id LIMIT 1 FOR UPDATE;
  IF p_expect IS NOT NULL AND (v_prev.id IS DISTINCT FROM (p_expect->>'previous_id')::bigint
                               OR v_next.id IS DISTINCT FROM (p_expect->>'following_id')::bigint) THEN
    PERFORM meterline_conflict('The meter''s readings changed while this one was being checked.', 'stale');
  END IF;
  v_cons := meterline_check_reading_value(r.reading_value, r.reading_date, v_prev, v_next, p_max_kwh_per_day);
  INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id,
                        motor_reading_value, motor_share, motor_reading_id, photo_ref, photo_url, source,
                        status, flags, ai_opinion, submitted_by, reviewed_by, reviewed_at)
  VALUES (r.meter_id, r.reading_value, r.reading_date, v_cons, v_prev.id,
          r.motor_reading_value, r.motor_share, r.motor_reading_id, r.photo_ref, r.photo_url,
          COALESCE(r.source, 'ui'), COALESCE(r.status, 'pending'), r.flags, r.ai_opinion,
          (p_actor->>'user_id')::bigint,
          CASE WHEN r.status = 'approved' THEN (p_actor->>'user_id')::bigint END,
          CASE WHEN r.status = 'approved' THEN now() END)
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_id::text, p_details);
  IF v_next.id IS NOT NULL THEN
    PERFORM meterline_relink_reading(v_next.id, v_id, v_next.reading_value - r.reading_value, p_actor,
                                     format('reading #%s of %s was stored before it', v_id, r.reading_date), v_id);
  END IF;
  RETURN jsonb_build_object('id', v_id, 'created', true);
END $$;

-- pending -> approved/rejected. PT404 for an unknown reading, PT409 when it is not pending.
-- Rejecting locks the meter and takes the reading out of its chain: the reading measured from it is
-- re-measured from the one before it; PT409 (nothing changed) when that reading is billed or has
-- admin-confirmed units (services/readings/rules.relink_after_rejection).
CREATE OR REPLACE FUNCTION meterline_review_reading(p_id bigint, p_approve boolean, p_actor jsonb, p_reason text,
                                                    p_approved_units numeric, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_status text;
  v_meter_id bigint;
  v_before readings;
  v_follower readings;
  v_problem text;
BEGIN
  IF NOT p_approve AND COALESCE(btrim(p_reason), '') = '' THEN
    PERFORM meterline_invalid('reason', 'is required to reject a reading.',
                              'Say what is wrong so the engineer can fix it.');
  END IF;
  SELECT meter_id INTO v_meter_id FROM readings WHERE id = p_id;
  IF v_meter_id IS NULL THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_id));
  END IF;
  IF NOT p_approve THEN
    PERFORM 1 FROM meters WHERE id = v_meter_id FOR UPDATE;
  END IF;
  UPDATE readings
     SET status = CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END,
         reviewed_by = (p_actor->>'user_id')::bigint, reviewed_at = now(), updated_at = now(),
         approved_units = CASE WHEN p_approve AND p_approved_units IS NOT NULL THEN p_approved_units
                               ELSE approved_units END,
         rejection_reason = CASE WHEN p_approve THEN rejection_reason ELSE btrim(p_reason) END
   WHERE id = p_id AND status = 'pending';
  IF NOT FOUND THEN
    SELECT status INTO v_status FROM readings WHERE id = p_id;
    PERFORM meterline_conflict(format('Reading %s is already %s; only pending readings can be reviewed.', p_id, v_status));
  END IF;
  PERFORM meterline_audit(p_actor, CASE WHEN p_approve THEN 'reading.approve' ELSE 'reading.reject' END,
                          'reading', p_id::text, p_details);
  IF NOT p_approve THEN
    SELECT * INTO v_follower FROM readings WHERE previous_reading_id = p_id AND status <> 'rejected'
     ORDER BY id LIMIT 1 FOR UPDATE;
    IF v_follower.id IS NOT NULL THEN
      IF meterline_reading_is_billed(v_follower.id) THEN
        v_problem := 'is already billed (a billed consumption never changes)';
      ELSIF v_follower.approved_units IS NOT NULL THEN
        v_problem := format('has monthly units (%s kWh) an admin confirmed for the interval it covers now',
                            v_follower.approved_units);
      END IF;
      IF v_problem IS NOT NULL THEN
        PERFORM meterline_conflict(format('Reading #%s cannot be rejected: reading #%s of %s (%s kWh) is measured '
          'from it and %s. Nothing was changed; approve it instead, or leave it pending.', p_id, v_follower.id,
          v_follower.reading_date, v_follower.reading_value, v_problem));
      END IF;
      SELECT b.* INTO v_before FROM readings r JOIN readings b ON b.id = r.previous_reading_id WHERE r.id = p_id;
      PERFORM meterline_relink_reading(v_follower.id, v_before.id, v_follower.reading_value - v_before.reading_value,
                                       p_actor, format('reading #%s it was measured from was rejected', p_id), p_id);
    END IF;
  END IF;
  RETURN p_id;
END $$;

-- Bulk approve pending (and, by default, unflagged) readings; returns how many changed.
CREATE OR REPLACE FUNCTION meterline_approve_readings(p_ids bigint[], p_actor jsonb, p_unflagged_only boolean)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  UPDATE readings
     SET status = 'approved', reviewed_by = (p_actor->>'user_id')::bigint, reviewed_at = now(), updated_at = now()
   WHERE id = ANY (p_ids) AND status = 'pending' AND (NOT p_unflagged_only OR flags IS NULL);
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'reading.bulk_approve', 'reading', NULL,
                          jsonb_build_object('requested', cardinality(p_ids), 'approved', n));
  RETURN n;
END $$;

CREATE OR REPLACE FUNCTION meterline_set_reading_photo_url(p_id bigint, p_photo_url text, p_actor jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  UPDATE readings SET photo_url = p_photo_url, updated_at = now() WHERE id = p_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'reading.photo_url', 'reading', p_id::text,
                          jsonb_build_object('photo_url', p_photo_url));
  RETURN n;
END $$;

-- The model's advice, stored beside the deterministic flags (which it never changes).
CREATE OR REPLACE FUNCTION meterline_set_reading_ai_opinion(p_id bigint, p_opinion jsonb, p_actor jsonb, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE readings SET ai_opinion = p_opinion, updated_at = now() WHERE id = p_id;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_id));
  END IF;
  PERFORM meterline_audit(p_actor, 'reading.ai_opinion', 'reading', p_id::text, p_details);
  RETURN p_id;
END $$;
